using System;
using System.IO;
using System.Linq;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// TorchSharp's own message on a load failure ("doesn't contain a reference to libtorch-cpu-linux-x64") hides the
/// cause; <see cref="TorchSharpNative"/> asks the dynamic loader and names it.
/// </summary>
public sealed class NativeLoadTests : IDisposable
{
    private static readonly Exception TorchSharpSaid = new NotSupportedException("doesn't contain a reference to libtorch-cpu-linux-x64");

    private readonly string _dir = Directory.CreateTempSubdirectory("ns-native-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_unpatched_library_on_an_old_libstdcxx_is_explained_by_the_missing_GLIBCXX_version() // Linux (x64) only, as the project's machines
    {
        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
        var original = Path.Combine(
            Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
            "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(original), "TorchSharp's unpatched library is not in the NuGet cache: " + original);

        // The shipped library beside links to the build output's libtorch, as a fresh build output would have it.
        foreach (var file in Directory.GetFiles(native).Where(f => Path.GetFileName(f) != "libLibTorchSharp.so"))
        {
            File.CreateSymbolicLink(Path.Combine(_dir, Path.GetFileName(file)), file);
        }

        var library = Path.Combine(_dir, "libLibTorchSharp.so");
        File.Copy(original, library);
        var message = TorchSharpNative.Explain(TorchSharpSaid, library);
        if (OldLibstdcxx())
        {
            Assert.Contains("needs GLIBCXX_3.4.32", message, StringComparison.Ordinal);
            Assert.Contains(library, message, StringComparison.Ordinal);
            Assert.Contains("TorchSharp on Debian 12 and Ubuntu 22.04", message, StringComparison.Ordinal);
        }
        else
        {
            Assert.StartsWith("TorchSharp could not initialise libtorch", message, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("doesn't contain a reference", message.Split(':')[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_native_library_says_which_package_brings_it()
    {
        var message = TorchSharpNative.Explain(TorchSharpSaid, library: null);
        Assert.Contains("reference TorchSharp-cpu or TorchSharp-cuda-linux", message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_patched_build_output_loads()
    {
        TorchSharpNative.EnsureLoaded();
        using var t = global::TorchSharp.torch.ones(2);
        Assert.Equal(2, t.sum().item<float>());
    }

    private static bool OldLibstdcxx() =>
        new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6" }
            .Where(File.Exists)
            .Select(p => File.ReadAllBytes(p))
            .Any(bytes => bytes.AsSpan().IndexOf("GLIBCXX_3.4.32"u8) < 0);
}
