using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// These tests hold libtorch's numbers against exact math (the reference executor). libtorch 2.10's oneDNN LSTM kernel
/// for AVX-512 CPUs is wrong for hidden sizes 1-16 and 33-40; limiting oneDNN to AVX2 makes every size exact. oneDNN
/// reads the variable from the native environment when libtorch loads, and .NET's Environment.SetEnvironmentVariable
/// does not reach it on Unix, so libc's setenv is called before any test touches TorchSharp.
/// </summary>
internal static partial class NativeEnvironment
{
    public const string IsaVariable = "DNNL_MAX_CPU_ISA";

    [ModuleInitializer]
    internal static void LimitOneDnnToAvx2()
    {
        if (!OperatingSystem.IsWindows() && Environment.GetEnvironmentVariable(IsaVariable) is null)
        {
            _ = SetEnv(IsaVariable, "AVX2", 0);
            Environment.SetEnvironmentVariable(IsaVariable, "AVX2");
        }
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
