using System.CommandLine;
using System.IO;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.IO;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Cli.Commands;

/// <summary><c>surgery convert &lt;in&gt; &lt;out&gt;</c>: <see cref="CheckpointConverter.Convert"/> with progress.</summary>
internal static class ConvertCommand
{
    public static Command Create(CliConsole console)
    {
        var input = new Argument<string>("in") { Description = "The checkpoint to read (*.safetensors, *.index.json, or TorchSharp's format)." };
        var output = new Argument<string>("out") { Description = "The checkpoint to write." };
        var format = CommonOptions.Format("Output format; by default from the output's name (*.safetensors, else TorchSharp's).");
        var force = CommonOptions.Force();
        var json = CommonOptions.Json("a summary");
        var command = new Command("convert", "Rewrite a checkpoint in another format (names, order, dtypes, shapes, bytes and metadata kept).")
        {
            input, output, format, force, json,
        };
        command.SetAction(parse =>
        {
            var inPath = CommonOptions.Required(parse.GetValue(input), "in");
            var outPath = CommonOptions.Required(parse.GetValue(output), "out");
            var overwrite = parse.GetValue(force);
            var quiet = parse.GetValue(json);
            var chosen = CommonOptions.OutputFormat(parse.GetValue(format), outPath);
            using var reader = CheckpointReader.Open(inPath);
            CommonOptions.Check(new CommandFiles().Input("in", reader).Output("out", outPath, chosen), overwrite);
            ProgressDisplay.Run(console, "convert", quiet, update =>
                CheckpointConverter.Copy(reader, outPath, chosen, overwrite,
                    new SyncProgress<CheckpointProgress>(p => update(p.TensorsDone, p.TensorCount, p.BytesDone, p.BytesTotal))));

            var bytes = new FileInfo(outPath).Length;
            if (quiet)
            {
                JsonOutput.Write(console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("in", inPath);
                    w.WriteString("out", outPath);
                    w.WriteString("format", chosen.Name());
                    w.WriteNumber("bytes", bytes);
                    w.WriteEndObject();
                });
            }
            else
            {
                console.Out.WriteLine($"wrote {outPath} ({chosen.Name()}, {Format.Bytes(bytes)}) from {inPath}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
