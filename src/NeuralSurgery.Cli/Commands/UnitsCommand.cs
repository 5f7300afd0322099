using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Cli.Models;
using NeuralSurgery.Collections;
using NeuralSurgery.Diff;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Graph;
using NeuralSurgery.IO;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Runtime.Pruning;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Tuning;
using RefTensor = NeuralSurgery.Runtime.Reference.Tensor;

namespace NeuralSurgery.Cli.Commands;

/// <summary>
/// <c>surgery prune</c> and <c>surgery grow</c> (issue 15 items 5-6): remove units of a layer (named, or the N of least
/// weight magnitude) or add N units with zero fan-out, as an ordinary surgery plan (<see cref="UnitRemoval"/>,
/// <see cref="UnitGrowth"/>) applied to a checkpoint. The new checkpoint and the plan JSON are written to temporary
/// files and renamed into place only when both are complete; the model source is never modified. The command then
/// reports the new widths per layer and where in the model class each width is written, since the next build's
/// plan matches the new checkpoint only once the class says the same.
/// </summary>
internal static class UnitsCommand
{
    public static Command Prune(CliConsole console)
    {
        var units = new Option<string?>("--units") { Description = "The units to remove, comma-separated (0-based), e.g. 3,9.", HelpName = "i,j,..." };
        var lowest = new Option<int?>("--lowest") { Description = "Remove the N units of least weight magnitude (paper 002 Table 2.1: |w| summed over each unit's rows and columns); needs no data.", HelpName = "N" };
        var data = new Option<string?>("--data") { Description = "Samples for mean replacement (paper 002 section 3.1): a safetensors file with one float32 tensor per graph input, named as the input; the removed units' mean output goes into the next layers' biases.", HelpName = "data.safetensors" };
        var command = new Command("prune", "Remove units of a layer from a checkpoint as a surgery plan (coupled rows, columns, gate blocks, norm channels); write the new checkpoint and the plan.")
        {
            units, lowest, data,
        };
        return Build(command, console, (parse, side, layer, reader) =>
        {
            var named = parse.GetValue(units);
            var n = parse.GetValue(lowest);
            if ((named is null) == (n is null))
            {
                throw new CliException("prune: give either --units i,j,... or --lowest N");
            }

            IReadOnlyCollection<long> chosen = named is not null ? ParseUnits(named) : Lowest(side, layer, reader, n!.Value);
            var removal = UnitRemoval.Plan(side, layer, chosen);
            var note = $"removed units {string.Join(", ", removal.Removed)} of '{removal.Space}'" + (named is null ? " (least weight magnitude)" : string.Empty);
            if (parse.GetValue(data) is not { } dataPath)
            {
                return (removal.Plan, removal.Narrowed, note + "; without --data their outputs are not mean-replaced (the plan zeroes them), so outputs change unless the units were dead");
            }

            var means = InputMeans.Measure(ReferenceModel.Load(side.Graph, reader), removal, [Samples(dataPath, side.Graph)]);
            var folded = MeanReplacement.Fold(removal, means, reader);
            return (folded, removal.Narrowed, note + $"; their mean outputs over {dataPath} are folded into {string.Join(", ", removal.Consumers.Where(c => c.Bias is not null).Select(c => "'" + c.Bias + "'").Distinct())}");
        }, data);
    }

    public static Command Grow(CliConsole console)
    {
        var count = new Option<int>("--count") { Description = "How many units to add (random fan-in by the layer's default initialisation, zero fan-out: outputs do not change).", Required = true, HelpName = "N" };
        var command = new Command("grow", "Add units to a layer of a checkpoint as a surgery plan with zero fan-out (the outputs do not change); write the new checkpoint and the plan.")
        {
            count,
        };
        return Build(command, console, (parse, side, layer, _) =>
        {
            var growth = UnitGrowth.Plan(side, layer, parse.GetValue(count));
            return (growth.Plan, growth.Widened, $"added units {growth.OldWidth}..{growth.NewWidth - 1} to '{growth.Space}' with zero fan-out");
        });
    }

    private static Command Build(Command command, CliConsole console, Func<ParseResult, ModelSide, string, CheckpointReader, (SurgeryPlan Plan, ModelGraph Graph, string Note)> make, Option<string?>? dataOption = null)
    {
        var model = ModelOptions.Model("--model", "The model the checkpoint belongs to");
        var schema = ModelOptions.Schema("--schema", "The model");
        var className = ModelOptions.Class("--class", "--model");
        var torchSharp = ModelOptions.TorchSharp();
        var layer = new Option<string>("--layer") { Description = "The layer: a module path (fc1) or a recurrent layer's unit space (lstm.l0).", Required = true, HelpName = "path" };
        var input = new Option<string>("--in") { Description = "The checkpoint (never modified).", Required = true, HelpName = "checkpoint" };
        var output = new Option<string>("--out") { Description = "The new checkpoint to write.", Required = true, HelpName = "new-checkpoint" };
        var planOut = new Option<string?>("--plan-out") { Description = "The plan JSON to write (default: the new checkpoint's name + .plan.json).", HelpName = "plan.json" };
        var format = CommonOptions.Format("Output format; by default from the output's name (*.safetensors, else TorchSharp's).");
        var seed = new Option<int>("--seed") { Description = "Seed of the randomly initialised elements (the same seed gives the same bytes).", HelpName = "N" };
        var force = CommonOptions.Force();
        var json = CommonOptions.Json("a summary");
        foreach (var o in new Option[] { model, schema, className, torchSharp, layer, input, output, planOut, format, seed, force, json })
        {
            command.Options.Add(o);
        }

        command.SetAction((parse, cancellation) =>
        {
            var modelPath = CommonOptions.Required(parse.GetValue(model), "--model");
            var inPath = CommonOptions.Required(parse.GetValue(input), "--in");
            var outPath = CommonOptions.Required(parse.GetValue(output), "--out");
            var planPath = parse.GetValue(planOut) ?? outPath + PlanJson.FileSuffix;
            var overwrite = parse.GetValue(force);
            var chosen = CommonOptions.OutputFormat(parse.GetValue(format), outPath);
            if (!planPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                throw new CliException($"--plan-out {planPath}: a plan is written to a *.json file");
            }

            using var reader = CheckpointReader.Open(inPath);
            var files = new CommandFiles()
                .ModelInputs("--model", modelPath, "--schema", parse.GetValue(schema), parse.GetValue(torchSharp))
                .Input("--in", reader)
                .Output("--out", outPath, chosen)
                .Output("--plan-out", planPath);
            if (dataOption is not null && parse.GetValue(dataOption) is { } dataPath)
            {
                files.CheckpointInput("--data", dataPath);
            }

            CommonOptions.Check(files, overwrite);
            var (modelGraph, modelSchema, widthSites) = ModelOptions.ReadWithSites(modelPath, parse.GetValue(schema), parse.GetValue(className), parse.GetValue(torchSharp), console, cancellation);
            var side = ModelSide.Trace(modelGraph, modelSchema);
            var layerName = CommonOptions.Required(parse.GetValue(layer), "--layer");
            var (plan, graph, note) = make(parse, side, layerName, reader);
            var problems = PlanExecutor.Validate(plan, reader);
            if (problems.Count > 0)
            {
                throw new PlanApplicationException(inPath, problems);
            }

            // The plan goes to a temporary file first and is renamed only after the checkpoint is complete: both or neither.
            using (var batch = new OutputBatch())
            {
                batch.WriteAllBytes(planPath, PlanJson.WriteUtf8(plan), overwrite);
                PlanExecutor.Apply(plan, reader, outPath, new ApplyOptions { Seed = parse.GetValue(seed), Overwrite = overwrite, Format = chosen, Cancellation = cancellation });
                batch.Commit();
            }

            var changes = WidthChanges.Between(side.Graph, graph);
            var sites = changes.Select(c => Site(widthSites, c)).ToList();
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("out", outPath);
                    w.WriteString("plan", planPath);
                    w.WriteString("note", note);
                    w.WriteStartArray("widths");
                    for (var i = 0; i < changes.Count; i++)
                    {
                        w.WriteStartObject();
                        w.WriteString("module", changes[i].Module);
                        w.WriteString("argument", changes[i].Argument);
                        w.WriteNumber("from", changes[i].From);
                        w.WriteNumber("to", changes[i].To);
                        if (sites[i] is { } s)
                        {
                            w.WriteString("source", s);
                        }

                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                });
            }
            else
            {
                console.Out.WriteLine($"wrote {outPath} ({chosen.Name()}) and {planPath} from {inPath}: {note}");
                console.Out.WriteLine("new widths (change the model class to match, or the next build's plan will not fit this checkpoint):");
                var table = Tables.Create(console, "module", "argument", ">from", ">to", "written in the model class");
                for (var i = 0; i < changes.Count; i++)
                {
                    Tables.Row(table, changes[i].Module, changes[i].Argument, Format.Number(changes[i].From), Format.Number(changes[i].To), sites[i] ?? "(not found in the source)");
                }

                Tables.Write(console, table);
                if (ModelSourceLoader.IsSource(modelPath) && !ProjectFolder.Holds(ProjectFolder.Of(modelPath), planPath))
                {
                    // The build reads plans among the project's files: there it points at each width (NS2009).
                    console.Out.WriteLine($"the plan is outside the model's project ({ProjectFolder.Of(modelPath)}): copy it there (e.g. next to {Path.GetFileName(modelPath)}) and the build points at each width to change, with a code fix; 'surgery snapshot add' then records it as the next version's step");
                }
            }

            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    /// <summary>The data file's tensors as one batch of the reference executor's inputs (float32, named as the graph's inputs).</summary>
    private static Dictionary<string, RefTensor> Samples(string path, ModelGraph graph)
    {
        using (var check = CheckpointReader.Open(path))
        {
            TrainingDataFile.CheckFitsInMemory(check, path, MemoryBudget.Bytes);
        }

        var data = StateDict.Load(path);
        var batch = new Dictionary<string, RefTensor>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            var info = data.Find(input.Name) ?? throw new TrainingDataException($"{path}: tensor '{input.Name}' is missing; expected graph input '{input.Name}' of shape {input.Shape}, samples on its batch axis");
            if (info.DType != DType.Float32 || info.Rank != input.Shape.Rank)
            {
                throw new TrainingDataException($"{path}: tensor '{input.Name}' is {info}; expected float32 of rank {input.Shape.Rank} (graph input '{input.Name}' {input.Shape})");
            }

            batch[input.Name] = new RefTensor(data.Float32(input.Name).ToArray(), [.. info.Shape.Select(d => (int)d)]);
        }

        return batch;
    }

    internal static long[] ParseUnits(string text)
    {
        var result = new List<long>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var unit))
            {
                throw new CliException($"--units '{text}': '{part}' is not a unit index; expected comma-separated non-negative integers, e.g. 3,9");
            }

            result.Add(unit);
        }

        return [.. result];
    }

    /// <summary>The N units of least magnitude: |w| summed over every slice a unit owns (its rows, gate blocks, consumer columns, norm channels).</summary>
    private static long[] Lowest(ModelSide side, string layer, CheckpointReader reader, int count)
    {
        var slices = UnitRemoval.Slices(side, layer);
        if (slices.Count == 0)
        {
            _ = UnitRemoval.Plan(side, layer, [0]); // names the layer's problem (unknown, a head, ...)
        }

        var units = slices[0].Indices.Count;
        if (count < 1 || count >= units)
        {
            throw new CliException($"--lowest {count}: layer '{layer}' has {units} units; expected 1 to {units - 1}");
        }

        var scores = new double[units];
        foreach (var slice in slices)
        {
            var info = reader.Find(slice.Parameter) ?? throw new CliException($"{reader.Path}: no tensor '{slice.Parameter}', which layer '{layer}' owns a slice of");
            var values = Values(reader, info);
            var shape = info.Shape.ToArray();
            var inner = shape.Skip(slice.Axis + 1).Aggregate(1L, (a, b) => a * b);
            var axisLength = shape[slice.Axis];
            var perIndex = new double[axisLength];
            for (long i = 0; i < values.Length; i++)
            {
                perIndex[i / inner % axisLength] += Math.Abs(values[i]);
            }

            for (var u = 0; u < units; u++)
            {
                scores[u] += slice.Indices[u].Sum(i => perIndex[i]);
            }
        }

        return [.. Enumerable.Range(0, units).OrderBy(u => scores[u]).ThenBy(u => u).Take(count).Select(u => (long)u)];
    }

    private static double[] Values(CheckpointReader reader, TensorInfo info)
    {
        var bytes = new byte[info.ByteLength];
        reader.Read(info, 0, bytes);
        return info.DType switch
        {
            DType.Float32 => [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray().Select(v => (double)v)],
            DType.Float64 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(bytes).ToArray(),
            _ => throw new CliException($"{reader.Path}: tensor '{info.Name}' is {info.DType}; --lowest scores float32 and float64 weights (name the units with --units instead)"),
        };
    }

    /// <summary>
    /// Where the model source sets a width, as the reader found it: the literal that decides it (the argument, the
    /// default of the model constructor's parameter, a constant) and the factory argument that reads it.
    /// </summary>
    private static string? Site(EquatableArray<WidthSite> sites, WidthChange change)
    {
        if (change.Position < 0 || sites.FirstOrDefault(s => s.Module == change.Module && s.Argument == change.Argument) is not { } site)
        {
            return null;
        }

        static string At(ReaderLocation l) => $"{Path.GetFileName(l.FilePath)}:{l.Line.ToString(CultureInfo.InvariantCulture)}";
        var to = change.To.ToString(CultureInfo.InvariantCulture);
        return site.Edit switch
        {
            { } edit when At(edit) == At(site.Location) => $"{site.Source} at {At(edit)}: write {to}",
            { } edit => $"{site.Source} at {At(edit)} (read by {change.Factory} at {At(site.Location)}): write {to}",
            null => $"{site.Source} at {At(site.Location)}: make it {to}",
        };
    }
}
