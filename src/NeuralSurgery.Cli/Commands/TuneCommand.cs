using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Diff;
using NeuralSurgery.IO;
using NeuralSurgery.Json;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;
using NeuralSurgery.Runtime.Tuning;

namespace NeuralSurgery.Cli.Commands;

/// <summary>
/// <c>surgery tune</c>: sparse tuning of paper 000 on the reference executor (<see cref="SparseTuner"/>): a
/// checkpoint, data from a file, a method, optionally restricted to the elements Φ ties to chosen features or that
/// a plan initialised; writes the tuned checkpoint atomically, a side-effect summary and optionally a sparse Δ patch.
/// </summary>
internal static class TuneCommand
{
    private static readonly Dictionary<string, TuningMethod> Methods = new(StringComparer.Ordinal)
    {
        ["full"] = TuningMethod.Full,
        ["lagrange"] = TuningMethod.Lagrange,
        ["sel-rand"] = TuningMethod.SelRand,
        ["sel-delta"] = TuningMethod.SelDelta,
        ["sel-grad"] = TuningMethod.SelGrad,
        ["sel-lca"] = TuningMethod.SelLca,
        ["dyn-delta"] = TuningMethod.DynDelta,
        ["dyn-grad"] = TuningMethod.DynGrad,
    };

    public static Command Create(CliConsole console)
    {
        var model = ModelOptions.Model("--model", "The model");
        var schema = ModelOptions.Schema("--schema", "The model");
        var modelClass = ModelOptions.Class("--class", "--model");
        var torchSharp = ModelOptions.TorchSharp();
        var checkpoint = new Option<string>("--checkpoint") { Description = "The checkpoint to tune (never modified).", Required = true, HelpName = "checkpoint" };
        var data = new Option<string>("--data") { Description = "Training data: a safetensors file with one tensor per graph input (named as the input) and 'target'.", Required = true, HelpName = "data.safetensors" };
        var output = new Option<string>("--out") { Description = "The tuned checkpoint to write (format from its name unless --format).", Required = true, HelpName = "tuned" };
        var format = CommonOptions.Format("Format of --out (default: from its name).");
        var method = new Option<string>("--method") { Description = "Tuning method (paper 000 section 4).", DefaultValueFactory = _ => "full", HelpName = string.Join('|', Methods.Keys) };
        method.AcceptOnlyFromAmong([.. Methods.Keys]);
        var n = new Option<long?>("-n") { Description = "Elements Sel-* and Dyn-* may change (exactly n are selected or kept).", HelpName = "N" };
        var lambda = new Option<double?>("--lambda") { Description = "λ of the Lagrange method: L1 on w - w_init, soft threshold γ = lr × λ per step.", HelpName = "X" };
        var onlyFeatures = new Option<string[]>("--only-features")
        {
            Description = "Only elements that interact with these features may change (input.feature; comma-separated or repeated).",
            HelpName = "input.feature,...",
            AllowMultipleArgumentsPerToken = true,
        };
        var onlyInitialised = new Option<string?>("--only-initialised-by") { Description = "Only elements this surgery plan initialised (did not copy) may change.", HelpName = "plan.json" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the data.", DefaultValueFactory = _ => 1, HelpName = "E" };
        var batch = new Option<int>("--batch") { Description = "Samples per step.", DefaultValueFactory = _ => 32, HelpName = "B" };
        var lr = new Option<double>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 1e-3, HelpName = "LR" };
        var optimizer = new Option<string>("--optimizer") { Description = "Optimiser (torch.optim semantics).", DefaultValueFactory = _ => "adam", HelpName = "sgd|adam" };
        optimizer.AcceptOnlyFromAmong("sgd", "adam");
        var loss = new Option<string>("--loss") { Description = "Loss on --target against the data's 'target' tensor.", DefaultValueFactory = _ => "mse", HelpName = "mse|cross-entropy" };
        loss.AcceptOnlyFromAmong("mse", "cross-entropy");
        var target = new Option<string?>("--target") { Description = "The output the loss reads (default: the model's only output).", HelpName = "OUTPUT" };
        var seed = new Option<int>("--seed") { Description = "Seed of the batch order and of Sel-Rand.", HelpName = "S" };
        var kStart = new Option<int?>("--k-start") { Description = "Dyn-*: first step of deletions (default: a tenth of the run, at least 10).", HelpName = "K" };
        var kEvery = new Option<int?>("--k-every") { Description = "Dyn-*: steps between deletions (default 5).", HelpName = "K" };
        var alpha = new Option<double?>("--alpha") { Description = "Dyn-*: momentum of the indicators (default 0.9).", HelpName = "X" };
        var eta = new Option<double?>("--eta") { Description = "Dyn-*: share of the allowed set deleted per deletion (default 0.3).", HelpName = "X" };
        var patch = new Option<string?>("--patch") { Description = "Also write a sparse delta patch of --out against --checkpoint.", HelpName = "out.patch" };
        var force = CommonOptions.Force();
        var json = CommonOptions.Json("the summary");
        var command = new Command("tune", "Tune a checkpoint on data with the reference executor, changing as few parameters as the method allows (paper 000).")
        {
            model, schema, modelClass, torchSharp, checkpoint, data, output, format, method, n, lambda, onlyFeatures, onlyInitialised,
            epochs, batch, lr, optimizer, loss, target, seed, kStart, kEvery, alpha, eta, patch, force, json,
        };
        command.SetAction((parse, cancellation) =>
        {
            var checkpointPath = CommonOptions.Required(parse.GetValue(checkpoint), "--checkpoint");
            var dataPath = CommonOptions.Required(parse.GetValue(data), "--data");
            var outPath = CommonOptions.Required(parse.GetValue(output), "--out");
            var patchPath = parse.GetValue(patch);
            var overwrite = parse.GetValue(force);
            var quiet = parse.GetValue(json);
            var chosen = Methods[CommonOptions.Required(parse.GetValue(method), "--method")];
            var outFormat = CommonOptions.OutputFormat(parse.GetValue(format), outPath);
            var modelPath = CommonOptions.Required(parse.GetValue(model), "--model");
            var files = new CommandFiles()
                .ModelInputs("--model", modelPath, "--schema", parse.GetValue(schema), parse.GetValue(torchSharp))
                .CheckpointInput("--checkpoint", checkpointPath)
                .CheckpointInput("--data", dataPath)
                .Output("--out", outPath, outFormat);
            if (parse.GetValue(onlyInitialised) is { } planInput)
            {
                files.Input("--only-initialised-by", planInput);
            }

            if (patchPath is not null)
            {
                files.Output("--patch", patchPath);
            }

            CommonOptions.Check(files, overwrite);
            var options = Options(parse, chosen, n, lambda, epochs, batch, lr, optimizer, seed, kStart, kEvery, alpha, eta);
            var side = ModelOptions.Side(modelPath, parse.GetValue(schema), parse.GetValue(modelClass), parse.GetValue(torchSharp), console, cancellation);
            var graph = side.Graph;
            var outputName = Output(side, parse.GetValue(target));
            var source = StateDict.Load(checkpointPath);
            ReferenceModel reference;
            try
            {
                reference = ReferenceModel.Load(graph, source);
            }
            catch (ReferenceExecutionException e)
            {
                throw new CliException($"{checkpointPath}: not a checkpoint of graph '{graph.Name}': {e.Message}", e);
            }

            var dataset = TrainingDataFile.Load(dataPath, graph);
            var lossFunction = Losses.OnOutput(outputName, TrainingDataFile.DefaultTarget,
                parse.GetValue(loss) == "cross-entropy" ? Losses.CrossEntropy : Losses.MeanSquaredError);
            var among = Restriction(side, reference, parse.GetValue(onlyFeatures) ?? [], parse.GetValue(onlyInitialised));
            options = options with { Among = among };
            var room = among?.Count() ?? reference.Parameters.Values.Sum(p => (long)p.Length);
            if (options.Method is not (TuningMethod.Full or TuningMethod.Lagrange) && options.N > room)
            {
                throw new CliException($"-n {options.N}: n must lie in [1, {room}], the elements that may change"
                    + (among is null ? $" (every parameter element of graph '{graph.Name}')" : " (after --only-features/--only-initialised-by)"));
            }

            SparseTuningResult? result = null;
            ProgressDisplay.RunSteps(console, "tune", quiet, update =>
            {
                var progress = new SyncProgress<SparseTuningProgress>(p =>
                {
                    var t = p.Training;
                    update(p.Phase, t?.Epoch ?? 0, t?.Epochs ?? 0, t?.Step ?? 0, t?.StepsPerEpoch ?? 0, t?.Loss ?? double.NaN);
                });
                try
                {
                    result = SparseTuner.Tune(reference, dataset, lossFunction, options, progress, cancellation);
                }
                catch (ReferenceExecutionException e)
                {
                    // The inputs were checked against the graph; what is left is a target the loss cannot read.
                    throw new CliException($"{dataPath}: tensor '{TrainingDataFile.DefaultTarget}' does not fit output '{outputName}' under the {parse.GetValue(loss)} loss: {e.Message}", e);
                }
            });

            // Both outputs appear together or not at all: each is written to a temporary file, then all are renamed.
            SparsePatch? written = null;
            using (var outputs = new OutputBatch())
            {
                var tuned = SparseTuner.WriteBack(source, reference);
                tuned.Save(outputs, outPath, outFormat, overwrite);
                if (patchPath is not null)
                {
                    written = SparsePatch.Create(source, tuned);
                    written.Save(outputs, patchPath, overwrite);
                }

                outputs.Commit();
            }

            var summary = result!;
            if (quiet)
            {
                WriteJson(console, summary, options, checkpointPath, outPath, patchPath, written);
            }
            else
            {
                WriteText(console, summary, options, outPath, patchPath, written);
            }

            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static SparseTuningOptions Options(
        ParseResult parse,
        TuningMethod method,
        Option<long?> n,
        Option<double?> lambda,
        Option<int> epochs,
        Option<int> batch,
        Option<double> lr,
        Option<string> optimizer,
        Option<int> seed,
        Option<int?> kStart,
        Option<int?> kEvery,
        Option<double?> alpha,
        Option<double?> eta)
    {
        var budget = parse.GetValue(n);
        var needsN = method is not (TuningMethod.Full or TuningMethod.Lagrange);
        if (needsN && budget is null)
        {
            throw new CliException($"--method {Name(method)} needs -n, the number of elements it may change");
        }

        if (budget is < 1)
        {
            throw new CliException($"-n {budget}: expected at least 1 element");
        }

        var l = parse.GetValue(lambda);
        if (method == TuningMethod.Lagrange && l is null)
        {
            throw new CliException("--method lagrange needs --lambda, the weight of the L1 term on w - w_init");
        }

        if (l is { } lv && (!(lv >= 0) || double.IsInfinity(lv)))
        {
            throw new CliException($"--lambda {Format.Number(lv)}: expected a finite number >= 0");
        }

        var e = parse.GetValue(epochs);
        var b = parse.GetValue(batch);
        var rate = parse.GetValue(lr);
        if (e < 1 || b < 1)
        {
            throw new CliException($"--epochs {e} --batch {b}: expected at least 1 of each");
        }

        if (!(rate > 0) || double.IsInfinity(rate))
        {
            throw new CliException($"--lr {Format.Number(rate)}: expected a finite number > 0");
        }

        DynamicOptions? dynamic = null;
        if (parse.GetValue(kStart) is not null || parse.GetValue(kEvery) is not null || parse.GetValue(alpha) is not null || parse.GetValue(eta) is not null)
        {
            dynamic = new DynamicOptions
            {
                N = budget ?? 0,
                KStart = parse.GetValue(kStart) ?? 10,
                KEvery = parse.GetValue(kEvery) ?? 5,
                Alpha = parse.GetValue(alpha) ?? 0.9,
                Eta = parse.GetValue(eta) ?? 0.3,
            };
            if (dynamic.KStart < 0 || dynamic.KEvery < 1 || !(dynamic.Alpha >= 0) || !(dynamic.Eta > 0 && dynamic.Eta <= 1))
            {
                throw new CliException($"--k-start {dynamic.KStart} --k-every {dynamic.KEvery} --alpha {Format.Number(dynamic.Alpha)} --eta {Format.Number(dynamic.Eta)}: expected K_start >= 0, K_every >= 1, α >= 0 and 0 < η <= 1");
            }
        }

        return new SparseTuningOptions
        {
            Method = method,
            N = budget ?? 0,
            Lambda = l ?? 0,
            Optimizer = parse.GetValue(optimizer) == "sgd" ? TuningOptimizer.Sgd : TuningOptimizer.Adam,
            LearningRate = rate,
            Training = new TrainingOptions { Epochs = e, BatchSize = b, Seed = parse.GetValue(seed) },
            Dynamic = dynamic,
        };
    }

    /// <summary>The output the loss reads: the one named, or the only one.</summary>
    private static string Output(ModelSide side, string? requested)
    {
        var names = side.Graph.Outputs.Select(o => o.Name).ToList();
        if (requested is not null)
        {
            return names.Contains(requested, StringComparer.Ordinal)
                ? requested
                : throw new CliException($"--target {requested}: graph '{side.Graph.Name}' has no such output; expected one of {string.Join(", ", names)}");
        }

        return names.Count == 1
            ? names[0]
            : throw new CliException($"graph '{side.Graph.Name}' has {names.Count} outputs; pass --target with one of {string.Join(", ", names)}");
    }

    /// <summary>The union of the --only-* masks over the model's parameters; null when neither is given.</summary>
    private static ParameterMask? Restriction(ModelSide side, ReferenceModel model, string[] features, string? planPath)
    {
        var items = features.SelectMany(f => f.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (items.Count == 0 && planPath is null)
        {
            return null;
        }

        var mask = WeightSnapshot.Of(model.Parameters).EmptyMask();
        var space = side.Map.Features;
        foreach (var item in items)
        {
            var dot = item.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0 || dot == item.Length - 1)
            {
                throw new CliException($"--only-features '{item}': expected input.feature (e.g. hero.max_health)");
            }

            var (input, feature) = (item[..dot], item[(dot + 1)..]);
            if (!space.HasInput(input))
            {
                throw new CliException($"--only-features '{item}': graph '{side.Graph.Name}' has no feature input '{input}'; expected one of {string.Join(", ", space.Inputs)}");
            }

            if (space.FeatureSlots(input, feature) is null)
            {
                var known = space.Slots.Where(s => s.Input == input).Select(s => s.Feature).Distinct().Take(30);
                throw new CliException($"--only-features '{item}': input '{input}' has no feature '{feature}'; it has {string.Join(", ", known)}");
            }

            MaskSources.AddInteractions(mask, side.Map, side.Map.InteractionsOf(input, feature));
        }

        if (planPath is not null)
        {
            var plan = PlanJson.Read(InputFile.ReadAllText(planPath, "plan", InputFile.MaxDocumentBytes), planPath);
            var initialised = MaskSources.FromPlanInitialised(plan);
            foreach (var name in initialised.Names)
            {
                if (!model.Parameters.TryGetValue(name, out var p) || p.Length != initialised.LengthOf(name))
                {
                    throw new CliException($"{planPath}: plan tensor '{name}' ({Format.Count(initialised.LengthOf(name))} elements) "
                        + (p is null ? $"is not a parameter of graph '{side.Graph.Name}'" : $"has {Format.Count(p.Length)} elements in graph '{side.Graph.Name}'")
                        + $"; pass the plan that produced this model ({plan.From} -> {plan.To})");
                }

                foreach (var i in initialised.Indices(name))
                {
                    mask[name, i] = true;
                }
            }
        }

        return mask;
    }

    private static string Name(TuningMethod method) => Methods.First(kv => kv.Value == method).Key;

    private static string Setting(SparseTuningOptions o) => o.Method switch
    {
        TuningMethod.Full => "all elements",
        TuningMethod.Lagrange => $"λ = {Format.Number(o.Lambda)}",
        _ => $"n = {Format.Count(o.N)}",
    };

    private static void WriteText(CliConsole console, SparseTuningResult r, SparseTuningOptions o, string outPath, string? patchPath, SparsePatch? patch)
    {
        console.Out.WriteLine($"tuned with {Name(r.Method)} ({Setting(o)}), {Format.Plural(o.Training.Epochs, "epoch")} of batch {o.Training.BatchSize}, lr {Format.Number(o.LearningRate)}");
        var table = Tables.Create(console, "measure", ">value");
        Tables.Row(table, "loss before", Loss(r.LossBefore));
        Tables.Row(table, "loss after", Loss(r.LossAfter));
        Tables.Row(table, "changed elements", $"{Format.Count(r.ChangedElements)} of {Format.Count(r.TotalElements)} ({Format.Share(r.TotalElements == 0 ? 0 : (double)r.ChangedElements / r.TotalElements)})");
        Tables.Row(table, "allowed to change", Format.Count(r.AllowedElements));
        Tables.Row(table, "masked elements untouched", $"{Format.Count(r.TotalElements - r.AllowedElements - r.ChangedOutsideAllowed)} of {Format.Count(r.TotalElements - r.AllowedElements)}");
        Tables.Write(console, table);
        console.Out.WriteLine($"wrote {outPath}");
        if (patch is not null)
        {
            console.Out.WriteLine($"wrote {patchPath}: {Format.Count(patch.ChangedElements)} changed elements in {patch.Tensors.Count} tensors, {Format.Bytes(new FileInfo(patchPath!).Length)}");
        }
    }

    private static void WriteJson(CliConsole console, SparseTuningResult r, SparseTuningOptions o, string input, string outPath, string? patchPath, SparsePatch? patch) => JsonOutput.Write(console.Out, w =>
    {
        w.WriteStartObject();
        w.WriteString("method", Name(r.Method));
        if (o.Method == TuningMethod.Lagrange)
        {
            w.WriteNumber("lambda", o.Lambda);
        }
        else if (o.Method != TuningMethod.Full)
        {
            w.WriteNumber("n", o.N);
        }

        w.WriteString("checkpoint", input);
        w.WriteString("out", outPath);
        JsonOutput.WriteDouble(w, "lossBefore", r.LossBefore);
        JsonOutput.WriteDouble(w, "lossAfter", r.LossAfter);
        w.WriteNumber("changedElements", r.ChangedElements);
        w.WriteNumber("totalElements", r.TotalElements);
        w.WriteNumber("allowedElements", r.AllowedElements);
        w.WriteNumber("changedOutsideAllowed", r.ChangedOutsideAllowed);
        if (patch is not null)
        {
            w.WriteString("patch", patchPath);
            w.WriteNumber("patchChangedElements", patch.ChangedElements);
            w.WriteNumber("patchBytes", new FileInfo(patchPath!).Length);
        }

        w.WriteEndObject();
    });

    private static string Loss(double value) => double.IsFinite(value) ? value.ToString("G6", System.Globalization.CultureInfo.InvariantCulture) : value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
