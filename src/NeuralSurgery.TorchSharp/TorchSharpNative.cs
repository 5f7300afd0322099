using System;
using System.IO;
using System.Runtime.InteropServices;
using TorchSharp;

namespace NeuralSurgery.TorchSharp;

/// <summary>TorchSharp's native library could not be loaded; the message names the cause and the remedy.</summary>
public sealed class TorchSharpLoadException : Exception
{
    public TorchSharpLoadException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// Loads TorchSharp's native library up front and turns a failure into a message that names the real cause.
/// TorchSharp 0.107 reports every load failure as "doesn't contain a reference to libtorch-cpu-linux-x64", even when
/// the package is referenced and the failure is the dynamic loader's: on Linux with a libstdc++ older than GCC 13
/// (Debian 12, Ubuntu 22.04) <c>libLibTorchSharp.so</c> needs <c>std::ios_base_library_init</c> at GLIBCXX_3.4.32.
/// </summary>
public static class TorchSharpNative
{
    private static readonly object Gate = new();
    private static bool _loaded;

    /// <summary>Loads libtorch for the CPU (idempotent); throws <see cref="TorchSharpLoadException"/> when it cannot.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded)
            {
                return;
            }

            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
            }
            catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
            {
                throw new TorchSharpLoadException(Explain(e), e);
            }

            _loaded = true;
        }
    }

    /// <summary>The cause of a load failure, as far as the loader tells it.</summary>
    internal static string Explain(Exception failure) => Explain(failure, FindLibTorchSharp());

    /// <summary>The cause of a load failure of <paramref name="library"/> (null: not found).</summary>
    internal static string Explain(Exception failure, string? library)
    {
        var loader = library is null ? null : LoaderMessage(library);
        if (loader is not null && loader.Contains("GLIBCXX_3.4.32", StringComparison.Ordinal))
        {
            return $"TorchSharp's native library '{library}' needs GLIBCXX_3.4.32 (the libstdc++ of GCC 13), and this system's "
                + "libstdc++ is older (Debian 12, Ubuntu 22.04). Either install a libstdc++ from GCC 13 or later, or patch the copy "
                + "in your build output as NeuralSurgery's README describes (section 'TorchSharp on Debian 12 and Ubuntu 22.04'). "
                + "The loader said: " + loader;
        }

        if (loader is not null)
        {
            return $"TorchSharp's native library '{library}' cannot be loaded: {loader}";
        }

        return library is null
            ? "TorchSharp's native library (libLibTorchSharp) is not in the application folder: reference TorchSharp-cpu or "
              + "TorchSharp-cuda-linux (TorchSharp alone has no libtorch). TorchSharp said: " + failure.Message
            : "TorchSharp could not initialise libtorch: " + failure.Message;
    }

    private static string? FindLibTorchSharp()
    {
        var name = OperatingSystem.IsWindows() ? "LibTorchSharp.dll" : OperatingSystem.IsMacOS() ? "libLibTorchSharp.dylib" : "libLibTorchSharp.so";
        var rid = RuntimeInformation.RuntimeIdentifier;
        foreach (var candidate in new[]
                 {
                     Path.Combine(AppContext.BaseDirectory, name),
                     Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native", name),
                     Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", name),
                 })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The dynamic loader's own message for <paramref name="library"/>, or null when it loads.</summary>
    private static string? LoaderMessage(string library)
    {
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(library));
            return null;
        }
        catch (DllNotFoundException e)
        {
            return e.Message.Trim();
        }
        catch (BadImageFormatException e)
        {
            return e.Message.Trim();
        }
    }
}
