using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Oracle;

/// <summary>One run of tests/oracle/torch_oracle.py (tests/oracle/README.md describes the fields).</summary>
public sealed class OracleRequest
{
    public OracleRequest(ModelGraph graph, string mode)
    {
        Graph = graph ?? throw new ArgumentNullException(nameof(graph));
        Mode = mode ?? throw new ArgumentNullException(nameof(mode));
    }

    public ModelGraph Graph { get; }

    /// <summary>names, forward, grad, adam_step, gradmap or remove_units.</summary>
    public string Mode { get; }

    /// <summary>Replaces the graph's JSON text (to hand the script a file Core would not write).</summary>
    public string? GraphJsonText { get; init; }

    /// <summary>state_dict of the graph's model; written as safetensors.</summary>
    public StateDict? Weights { get; init; }

    /// <summary>Graph inputs by name (categorical ones int64), dropout masks <c>dropout.NODE</c>, output-gradient seeds <c>seed.OUTPUT</c>.</summary>
    public StateDict? Inputs { get; init; }

    public IReadOnlyDictionary<string, long>? Symbols { get; init; }

    public JsonObject? Options { get; init; }

    /// <summary>Further request properties, copied as they are (<c>removal</c> for mode remove_units).</summary>
    public JsonObject? Extra { get; init; }
}

/// <summary>What one request gave back: the summary JSON and the response tensors, or the script's error.</summary>
public sealed class OracleResult
{
    internal OracleResult(OracleRequest request, JsonElement summary, StateDict? tensors)
    {
        Request = request;
        Summary = summary;
        Tensors = tensors;
    }

    public OracleRequest Request { get; }

    public JsonElement Summary { get; }

    public bool Ok => Summary.TryGetProperty("ok", out var ok) && ok.GetBoolean();

    public string? Error => Summary.TryGetProperty("error", out var e) ? e.GetString() : null;

    /// <summary>Response tensors (<c>output.*</c>, <c>grad.*</c>, <c>param.*</c>, <c>gradmap.*</c>); null when the request failed.</summary>
    public StateDict? Tensors { get; }

    public StateDict RequireTensors() => Tensors ?? throw new OracleException($"oracle request for graph '{Request.Graph.Name}' ({Request.Mode}) failed: {Error}", string.Empty);
}

/// <summary>The oracle script failed or refused its input; <see cref="Stderr"/> is what Python printed.</summary>
public sealed class OracleException : Exception
{
    public OracleException(string message, string stderr)
        : base(stderr.Length == 0 ? message : message + Environment.NewLine + "python stderr:" + Environment.NewLine + stderr.TrimEnd())
    {
        Stderr = stderr;
    }

    public OracleException()
        : this("oracle failed", string.Empty)
    {
    }

    public OracleException(string message)
        : this(message, string.Empty)
    {
    }

    public OracleException(string message, Exception inner)
        : base(message, inner)
    {
        Stderr = string.Empty;
    }

    public string Stderr { get; } = string.Empty;
}

/// <summary>
/// Runs the PyTorch oracle ("the oracle nobody here wrote", issue 5): finds a python3 that imports torch, writes
/// the requests (graph JSON from <see cref="GraphJson"/>, safetensors through <see cref="StateDict"/>), runs the
/// script once for a whole batch (importing torch costs seconds) and reads the results back.
/// </summary>
public static class TorchOracle
{
    /// <summary>Environment variable naming the interpreter; scripts/install-torch.sh prints the same choice.</summary>
    public const string PythonVariable = "NEURALSURGERY_PYTHON";

    private static readonly Lazy<string?> FoundPython = new(FindPython);

    /// <summary>The script beside the test binaries (copied there by the project file).</summary>
    public static string ScriptPath => Path.Combine(AppContext.BaseDirectory, "oracle", "torch_oracle.py");

    public static string Python => FoundPython.Value ?? throw new OracleException(
        $"no python3 can import torch (tried ${PythonVariable}, every python3 on PATH, /usr/bin/python3); run scripts/install-torch.sh, which ./test.sh runs before the tests");

    /// <summary>Same rule as scripts/install-torch.sh: $NEURALSURGERY_PYTHON, each python3 on PATH, /usr/bin/python3.</summary>
    public static string? FindPython()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable(PythonVariable) is { Length: > 0 } explicitPython)
        {
            candidates.Add(explicitPython);
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            candidates.Add(Path.Combine(dir, "python3"));
        }

        candidates.Add("/usr/bin/python3");
        foreach (var candidate in candidates.Distinct(StringComparer.Ordinal))
        {
            if (File.Exists(candidate) && CanImportTorch(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool CanImportTorch(string python)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(python, ["-c", "import torch"])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            });
            if (p is null)
            {
                return false;
            }

            _ = p.StandardError.ReadToEndAsync();
            _ = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(60_000))
            {
                p.Kill(entireProcessTree: true);
                return false;
            }

            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    /// <summary>Runs one request and throws <see cref="OracleException"/> (with Python's message) when it fails.</summary>
    public static OracleResult RunOne(OracleRequest request, TimeSpan? timeout = null)
    {
        var result = Run([request], timeout)[0];
        if (!result.Ok)
        {
            throw new OracleException($"oracle refused graph '{request.Graph.Name}' ({request.Mode}): {result.Error}", LastStderr);
        }

        return result;
    }

    [ThreadStatic]
    private static string? _lastStderr;

    /// <summary>What the last <see cref="Run"/> on this thread read from Python's stderr.</summary>
    public static string LastStderr => _lastStderr ?? string.Empty;

    /// <summary>
    /// Runs every request in one Python process. A request the script refuses comes back with
    /// <see cref="OracleResult.Ok"/> false and its message; a crash, a timeout or a missing summary throws.
    /// </summary>
    public static IReadOnlyList<OracleResult> Run(IReadOnlyList<OracleRequest> requests, TimeSpan? timeout = null, int threads = 1)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var dir = Path.Combine(Path.GetTempPath(), "ns-oracle-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var list = new JsonArray();
            for (var i = 0; i < requests.Count; i++)
            {
                list.Add(WriteRequest(requests[i], dir, i.ToString(CultureInfo.InvariantCulture)));
            }

            var top = new JsonObject { ["version"] = 1, ["threads"] = threads, ["requests"] = list };
            var requestPath = Path.Combine(dir, "request.json");
            File.WriteAllText(requestPath, top.ToJsonString());
            var (code, stderr) = Execute(requestPath, timeout ?? TimeSpan.FromMinutes(5));
            _lastStderr = stderr;
            if (code is not (0 or 1))
            {
                throw new OracleException($"oracle script exited with code {code}", stderr);
            }

            var results = new List<OracleResult>();
            for (var i = 0; i < requests.Count; i++)
            {
                var stem = Path.Combine(dir, i.ToString(CultureInfo.InvariantCulture));
                if (!File.Exists(stem + ".summary.json"))
                {
                    throw new OracleException($"oracle wrote no summary for request {i} (graph '{requests[i].Graph.Name}')", stderr);
                }

                using var doc = JsonDocument.Parse(File.ReadAllBytes(stem + ".summary.json"));
                var summary = doc.RootElement.Clone();
                var ok = summary.TryGetProperty("ok", out var okElement) && okElement.GetBoolean();
                results.Add(new OracleResult(requests[i], summary, ok ? StateDict.Load(stem + ".out.safetensors") : null));
            }

            return results;
        }
        finally
        {
            try
            {
                // NEURALSURGERY_ORACLE_KEEP=1 keeps the request folder, to rerun a disagreeing request by hand.
                if (Environment.GetEnvironmentVariable("NEURALSURGERY_ORACLE_KEEP") is not { Length: > 0 })
                {
                    Directory.Delete(dir, recursive: true);
                }
                else
                {
                    Console.Error.WriteLine("oracle requests kept in " + dir);
                }
            }
            catch (IOException)
            {
                // A leftover temp folder is harmless.
            }
        }
    }

    private static JsonObject WriteRequest(OracleRequest r, string dir, string stem)
    {
        var graphPath = Path.Combine(dir, stem + ".graph.json");
        File.WriteAllText(graphPath, r.GraphJsonText ?? GraphJson.Write(r.Graph));
        var o = new JsonObject
        {
            ["graph"] = graphPath,
            ["mode"] = r.Mode,
            ["output"] = Path.Combine(dir, stem + ".out.safetensors"),
            ["summary"] = Path.Combine(dir, stem + ".summary.json"),
        };
        if (r.Weights is not null)
        {
            var path = Path.Combine(dir, stem + ".weights.safetensors");
            r.Weights.Save(path, CheckpointFormat.Safetensors);
            o["weights"] = path;
        }

        if (r.Inputs is not null)
        {
            var path = Path.Combine(dir, stem + ".inputs.safetensors");
            r.Inputs.Save(path, CheckpointFormat.Safetensors);
            o["inputs"] = path;
        }

        if (r.Symbols is not null)
        {
            var symbols = new JsonObject();
            foreach (var (k, v) in r.Symbols)
            {
                symbols[k] = v;
            }

            o["symbols"] = symbols;
        }

        foreach (var (key, value) in r.Extra ?? [])
        {
            o[key] = value?.DeepClone();
        }

        if (r.Options is not null)
        {
            o["options"] = r.Options.DeepClone();
        }

        return o;
    }

    private static (int Code, string Stderr) Execute(string requestPath, TimeSpan timeout)
    {
        var python = Python;
        var script = ScriptPath;
        if (!File.Exists(script))
        {
            throw new OracleException($"oracle script not found at '{script}' (the project copies tests/oracle/torch_oracle.py there)");
        }

        using var p = Process.Start(new ProcessStartInfo(python, [script, requestPath])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new OracleException($"could not start '{python}'");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit((int)timeout.TotalMilliseconds))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new OracleException($"oracle script ran past {timeout.TotalSeconds:F0} s and was stopped", stderr.Result + stdout.Result);
        }

        p.WaitForExit();
        return (p.ExitCode, stderr.Result + stdout.Result);
    }
}
