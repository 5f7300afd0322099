using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using NeuralSurgery.Graph;
using NeuralSurgery.Schema;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp;

/// <summary>
/// Verification of two checkpoints by the models' own forward, for a tool that loads a training project's built
/// assembly in a load context of its own (the <c>surgery verify --assembly</c> command): only strings, numbers and
/// reflection types cross into it, and the report comes back as JSON.
/// </summary>
public static class VerificationEntryPoint
{
    /// <summary>
    /// Creates the two model classes of <paramref name="models"/> with their parameterless constructors, loads each
    /// checkpoint with TorchSharp's strict <c>Module.load</c>, and verifies eq. 1 with the graphs and schemas of the
    /// classes' generated <c>Mirror</c>. Returns the report as JSON; throws <see cref="ArgumentException"/> for a
    /// class that cannot be used and <see cref="IOException"/> for a checkpoint TorchSharp refuses.
    /// </summary>
    public static string VerifyCheckpoints(Assembly models, string oldClass, string oldCheckpoint, string newClass, string newCheckpoint, int samples, int seed, double tolerance)
    {
        ArgumentNullException.ThrowIfNull(models);
        TorchSharpNative.EnsureLoaded();
        var (oldModel, oldGraph, oldSchema) = Create(models, oldClass, oldCheckpoint);
        var (newModel, newGraph, newSchema) = Create(models, newClass, newCheckpoint);
        var report = ModuleVerifier.Verify(
            oldModel,
            oldGraph,
            oldSchema,
            newModel,
            newGraph,
            newSchema,
            new ModuleVerificationOptions { Samples = samples, Seed = seed, Tolerance = tolerance });
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteBoolean("passed", report.Passed);
            w.WriteString("device", report.Device);
            w.WriteNumber("samples", report.Surgery.Samples);
            WriteDouble(w, "maxAbsDiff", report.MaxAbsDifference);
            if (report.OldAgainstReference is { } o)
            {
                WriteDouble(w, "oldAgainstReference", o);
            }

            if (report.NewAgainstReference is { } n)
            {
                WriteDouble(w, "newAgainstReference", n);
            }

            w.WriteString("diagnosis", report.Diagnosis);
            w.WriteStartArray("outputs");
            foreach (var output in report.Surgery.Outputs)
            {
                w.WriteStartObject();
                w.WriteString("name", output.Output);
                w.WriteNumber("elements", output.Compared);
                WriteDouble(w, "maxAbsDiff", output.MaxAbsDifference);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("notCompared");
            foreach (var name in report.Surgery.NotCompared)
            {
                w.WriteStringValue(name);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static (nn.Module Model, ModelGraph Graph, FeatureSchema Schema) Create(Assembly models, string className, string checkpoint)
    {
        var matches = models.GetTypes().Where(t => t.FullName == className || t.Name == className).ToList();
        var type = matches.Count switch
        {
            1 => matches[0],
            0 => throw new ArgumentException($"{models.GetName().Name} has no class '{className}'"),
            _ => throw new ArgumentException($"{models.GetName().Name} has {matches.Count} classes named '{className}' ({string.Join(", ", matches.Select(t => t.FullName))}): give the full name"),
        };
        if (!typeof(nn.Module).IsAssignableFrom(type))
        {
            throw new ArgumentException($"'{type.FullName}' is not a TorchSharp module");
        }

        var mirror = type.GetNestedType("Mirror", BindingFlags.Public);
        var graph = mirror?.GetProperty("Graph", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as ModelGraph;
        var schema = mirror?.GetProperty("Schema", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as FeatureSchema;
        if (graph is null || schema is null)
        {
            throw new ArgumentException(
                $"'{type.FullName}' has no generated Mirror with a graph and a schema: mark it [SurgeryModel(\"….features.yaml\")] and build the project with NeuralSurgery");
        }

        if (type.GetConstructor(Type.EmptyTypes) is not { } constructor)
        {
            throw new ArgumentException($"'{type.FullName}' has no parameterless constructor, so it cannot be created to load '{checkpoint}'");
        }

        var model = (nn.Module)constructor.Invoke(null);
        if (!File.Exists(checkpoint))
        {
            throw new FileNotFoundException($"{checkpoint}: no such file", checkpoint);
        }

        try
        {
            model.load(checkpoint);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or ExternalException)
        {
            throw new IOException($"{checkpoint}: TorchSharp cannot load it into '{type.Name}' ({e.Message}); is it a checkpoint of this model version?", e);
        }

        return (model, graph, schema);
    }

    private static void WriteDouble(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteString(name, value.ToString(CultureInfo.InvariantCulture));
        }
    }
}
