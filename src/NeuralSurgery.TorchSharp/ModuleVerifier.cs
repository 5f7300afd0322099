using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Mapping;
using NeuralSurgery.Schema;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp;

/// <summary>How <see cref="ModuleVerifier"/> checks a surgery.</summary>
public sealed record ModuleVerificationOptions
{
    /// <summary>World states (the batch size of the one forward call per model).</summary>
    public int Samples { get; init; } = 1000;

    public int Seed { get; init; }

    /// <summary>Size of every symbolic axis other than the batch (set sizes, sequence lengths).</summary>
    public int SymbolSize { get; init; } = 3;

    /// <summary>The largest |F_old − F_new| that still passes (float32 arithmetic in a different order).</summary>
    public double Tolerance { get; init; } = 1e-5;

    /// <summary>
    /// Also run both graphs on NeuralSurgery's reference executor with the modules' weights, to tell a surgery at
    /// fault from libtorch computing a model differently from its graph (see <see cref="ModuleVerificationReport.Diagnosis"/>).
    /// </summary>
    public bool CompareWithReference { get; init; } = true;
}

/// <summary>
/// eq. 1 by the user's own <c>forward</c>: <see cref="Surgery"/> compares the old and the new TorchSharp module on the
/// same world states; <see cref="OldAgainstReference"/> and <see cref="NewAgainstReference"/> compare each module's
/// TorchSharp output with the reference executor's for the same graph, weights and inputs (null when not run).
/// </summary>
public sealed record ModuleVerificationReport(
    VerificationReport Surgery,
    double? OldAgainstReference,
    double? NewAgainstReference,
    double Tolerance,
    string Device)
{
    public double MaxAbsDifference => Surgery.MaxAbsDifference;

    /// <summary>Every old output was compared and none moved by more than the tolerance.</summary>
    public bool Passed => Surgery.NotCompared.Count == 0 && Surgery.Outputs.Count > 0 && MaxAbsDifference <= Tolerance;

    /// <summary>What the numbers mean, in a sentence a user can act on.</summary>
    public string Diagnosis
    {
        get
        {
            var worst = Format(MaxAbsDifference);
            if (Surgery.Outputs.Count == 0 || Surgery.NotCompared.Count > 0)
            {
                return Surgery.NotCompared.Count > 0
                    ? $"eq. 1 not shown: output(s) {string.Join(", ", Surgery.NotCompared.Select(n => $"'{n}'"))} of the old model have no counterpart of the same name and shape in the new one"
                    : "eq. 1 not shown: the old model has no output to compare";
            }

            if (Passed)
            {
                return $"the new model computes what the old one did: max |ΔF| = {worst} ≤ {Format(Tolerance)} on {Surgery.Samples} states ({Device})";
            }

            if (OldAgainstReference > Tolerance || NewAgainstReference > Tolerance)
            {
                var which = OldAgainstReference > Tolerance
                    ? $"the old model's TorchSharp output already differs from the reference executor's by {Format(OldAgainstReference!.Value)}"
                    : $"the new model's TorchSharp output differs from the reference executor's by {Format(NewAgainstReference!.Value)}";
                return $"max |ΔF| = {worst} > {Format(Tolerance)}, but {which} for the same weights and inputs: libtorch computes this model "
                    + "differently from its graph on this machine, so the surgery is not what is at fault. A known case is libtorch 2.10's "
                    + "oneDNN LSTM kernel on AVX-512 CPUs (hidden sizes 1-16 and 33-40): set DNNL_MAX_CPU_ISA=AVX2 in the environment "
                    + "before TorchSharp loads";
            }

            return OldAgainstReference is null
                ? $"max |ΔF| = {worst} > {Format(Tolerance)} ({Device}); the reference executor was not run, so libtorch was not ruled out"
                : $"max |ΔF| = {worst} > {Format(Tolerance)}, and both modules compute what their graphs say (reference executor within "
                  + $"{Format(Math.Max(OldAgainstReference.Value, NewAgainstReference ?? 0))}): the surgery changed the function. Check that the "
                  + "new module was loaded from the surgered checkpoint and that the plan was made for these two model versions";
        }
    }

    private static string Format(double value) => value.ToString("0.###e+0", CultureInfo.InvariantCulture);
}

/// <summary>
/// Output equivalence of a surgery (paper 001 eq. 1) with the user's own TorchSharp modules, on their device: random
/// world states built from both schemas (shared features equal, renames followed, new features free, categorical
/// values matched by name, head actions matched by name) through both modules' real <c>forward</c> in eval mode.
/// The inputs and the comparison are those of the reference executor's <see cref="Verifier"/>.
/// </summary>
public static class ModuleVerifier
{
    public static ModuleVerificationReport Verify(
        nn.Module oldModel,
        ModelGraph oldGraph,
        FeatureSchema oldSchema,
        nn.Module newModel,
        ModelGraph newGraph,
        FeatureSchema newSchema,
        ModuleVerificationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(oldModel);
        ArgumentNullException.ThrowIfNull(newModel);
        ArgumentNullException.ThrowIfNull(oldGraph);
        ArgumentNullException.ThrowIfNull(newGraph);
        options ??= new ModuleVerificationOptions();
        TorchSharpNative.EnsureLoaded();
        var check = Verifier.Prepare(oldGraph, oldSchema, newGraph, newSchema, options.Samples, options.Seed, options.SymbolSize);
        var oldOutputs = Run(oldModel, oldGraph, check.OldInputs);
        var newOutputs = Run(newModel, newGraph, check.NewInputs);
        var surgery = check.Compare(oldOutputs, newOutputs);
        double? oldReference = null, newReference = null;
        if (options.CompareWithReference)
        {
            oldReference = AgainstReference(oldModel, oldGraph, check.OldInputs, oldOutputs);
            newReference = AgainstReference(newModel, newGraph, check.NewInputs, newOutputs);
        }

        return new ModuleVerificationReport(surgery, oldReference, newReference, options.Tolerance, DeviceOf(oldModel).ToString());
    }

    /// <summary>
    /// The module's outputs by graph output name, computed by its own forward in eval mode under no_grad on its
    /// device; the module's training flag is restored afterwards.
    /// </summary>
    public static IReadOnlyDictionary<string, Runtime.Reference.Tensor> Run(nn.Module model, ModelGraph graph, IReadOnlyDictionary<string, Runtime.Reference.Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        TorchSharpNative.EnsureLoaded();
        var device = DeviceOf(model);
        var training = model.training;
        model.eval();
        try
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var arguments = graph.Inputs
                .Select(i => LiveStateDict.ToTorch(
                    inputs.TryGetValue(i.Name, out var v) ? v : throw new ArgumentException($"no value for input '{i.Name}'", nameof(inputs)),
                    device,
                    indices: i.Role is InputRole.Categorical or InputRole.Offsets))
                .ToList();
            var results = ForwardCall.Invoke(model, graph.Inputs.Select(i => i.Name).ToList(), arguments);
            if (results.Count != graph.Outputs.Count)
            {
                throw new InvalidOperationException(
                    $"{model.GetType().Name}.forward returned {results.Count} tensor(s) and its graph has {graph.Outputs.Count} output(s): the graph was not read from this class");
            }

            var outputs = new Dictionary<string, Runtime.Reference.Tensor>(StringComparer.Ordinal);
            for (var i = 0; i < results.Count; i++)
            {
                outputs[graph.Outputs[i].Name] = LiveStateDict.FromTorch(results[i]);
            }

            return outputs;
        }
        finally
        {
            model.train(training);
        }
    }

    /// <summary>max |TorchSharp − reference| over every output of one model, for the same weights and inputs.</summary>
    private static double? AgainstReference(nn.Module model, ModelGraph graph, IReadOnlyDictionary<string, Runtime.Reference.Tensor> inputs, IReadOnlyDictionary<string, Runtime.Reference.Tensor> outputs)
    {
        ReferenceModel reference;
        try
        {
            reference = ReferenceModel.Load(graph, LiveStateDict.Of(model));
        }
        catch (Exception e) when (e is ReferenceExecutionException or ArgumentException or InvalidOperationException)
        {
            // The module does not hold what its graph says (a different class, or weights of another version): the
            // surgery comparison still stands; the libtorch cross-check is not possible.
            return null;
        }

        var expected = reference.Forward(inputs).Outputs;
        double worst = 0;
        foreach (var (name, value) in outputs)
        {
            if (expected.TryGetValue(name, out var e) && e.SameShape(value))
            {
                worst = Math.Max(worst, Verifier.EquivalenceCheck.MaxDifference(e, value));
            }
        }

        return worst;
    }

    private static Device DeviceOf(nn.Module model) => model.parameters().FirstOrDefault()?.device ?? torch.CPU;
}
