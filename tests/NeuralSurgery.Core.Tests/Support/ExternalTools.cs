using System;
using System.Diagnostics;

namespace NeuralSurgery.Tests.Support;

/// <summary>Unix tools the file tests need where .NET has no API: <c>mkfifo</c>, <c>ln</c> (hard links).</summary>
public static class ExternalTools
{
    /// <summary>Runs <paramref name="program"/>; throws unless it exits 0 (the file is linked into non-test projects too, so no Assert).</summary>
    public static void Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}: {error}");
        }
    }

    /// <summary>A named pipe at <paramref name="path"/>.</summary>
    public static string MakeFifo(string path)
    {
        Run("mkfifo", path);
        return path;
    }

    /// <summary>A hard link <paramref name="link"/> to <paramref name="target"/>.</summary>
    public static string HardLink(string target, string link)
    {
        Run("ln", target, link);
        return link;
    }
}
