using System;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;
using NeuralSurgery.Cli.Infrastructure;

namespace NeuralSurgery.Cli.Models;

/// <summary>
/// A training project's built assembly, loaded with its own dependencies (its TorchSharp, libtorch and NeuralSurgery
/// copies, managed and native, as its .deps.json lists them) so that its models run with their own forward, as in the
/// user's program. The verification bridge, NeuralSurgery.TorchSharp, comes from the project when it references it,
/// else the tool's copy is loaded into the same context, where it binds to the project's TorchSharp.
/// </summary>
internal sealed class ModelAssemblyContext : AssemblyLoadContext
{
    private const string Bridge = "NeuralSurgery.TorchSharp";

    private readonly AssemblyDependencyResolver _resolver;

    private ModelAssemblyContext(string path)
        : base("surgery: " + Path.GetFileName(path))
    {
        _resolver = new AssemblyDependencyResolver(path);
        Models = LoadFromAssemblyPath(path);
    }

    public Assembly Models { get; }

    public static ModelAssemblyContext Open(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new CliException($"--assembly {path}: no such file (give the training project's built .dll, e.g. bin/Release/net10.0/Training.dll)");
        }

        NeuralSurgery.IO.InputFile.EnsureRegular(full);

        if (!File.Exists(Path.ChangeExtension(full, ".deps.json")))
        {
            throw new CliException($"--assembly {path}: no {Path.GetFileName(Path.ChangeExtension(full, ".deps.json"))} beside it, so its TorchSharp and libtorch cannot be found; give the .dll in the project's build output");
        }

        try
        {
            return new ModelAssemblyContext(full);
        }
        catch (BadImageFormatException e)
        {
            throw new CliException($"--assembly {path}: not a .NET assembly ({e.Message})", e);
        }
    }

    /// <summary>The public static method <paramref name="method"/> of <paramref name="type"/> in the bridge, as this context loads it.</summary>
    public MethodInfo BridgeMethod(string type, string method)
    {
        var bridge = LoadFromAssemblyName(new AssemblyName(Bridge));
        return bridge.GetType(Bridge + "." + type)?.GetMethod(method, BindingFlags.Public | BindingFlags.Static)
            ?? throw new CliException($"{bridge.Location}: this {Bridge} has no {type}.{method}; reference NeuralSurgery.TorchSharp {typeof(ModelAssemblyContext).Assembly.GetName().Version} or later");
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (_resolver.ResolveAssemblyToPath(assemblyName) is { } path)
        {
            return LoadFromAssemblyPath(path);
        }

        // Not in the project: the tool's own NeuralSurgery.TorchSharp (and what the project lacks of NeuralSurgery's
        // assemblies), loaded here so that it sees the project's TorchSharp, not the tool's.
        if (assemblyName.Name is { } name && name.StartsWith("NeuralSurgery.", StringComparison.Ordinal))
        {
            var own = Path.Combine(AppContext.BaseDirectory, name + ".dll");
            if (File.Exists(own))
            {
                return LoadFromAssemblyPath(own);
            }
        }

        return null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
        _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
}
