using System.CommandLine;
using System.IO;
using System.Linq;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Cli.Commands;

/// <summary><c>surgery inspect &lt;checkpoint&gt;</c>: the tensor table, sizes, metadata and reader warnings.</summary>
internal static class InspectCommand
{
    public static Command Create(CliConsole console)
    {
        var checkpoint = new Argument<string>("checkpoint")
        {
            Description = "A checkpoint: *.safetensors, a sharded *.index.json, or TorchSharp's Module.save format (any other name).",
        };
        var json = CommonOptions.Json("the tensor table and metadata");
        var command = new Command("inspect", "Show a checkpoint's format, tensors (dtype, shape, bytes), total size, metadata and warnings.")
        {
            checkpoint,
            json,
        };
        command.SetAction(parse =>
        {
            var path = CommonOptions.Required(parse.GetValue(checkpoint), "checkpoint");
            using var reader = CheckpointReader.Open(path);
            if (parse.GetValue(json))
            {
                WriteJson(console, reader);
            }
            else
            {
                WriteText(console, reader);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static long TensorBytes(CheckpointReader reader) => reader.Tensors.Sum(t => t.ByteLength);

    private static long FileBytes(CheckpointReader reader) =>
        reader.DataFiles.Sum(f => new FileInfo(f).Length) + (reader.IsSharded ? new FileInfo(reader.Path).Length : 0);

    private static void WriteText(CliConsole console, CheckpointReader reader)
    {
        var format = reader.Format.Name() + (reader.IsSharded ? $" (sharded, {reader.DataFiles.Count} files)" : string.Empty);
        console.Out.WriteLine($"{reader.Path}: {format}, {Format.Count(reader.Tensors.Count)} tensors, "
            + $"{Format.Count(reader.Tensors.Sum(t => t.ElementCount))} elements, {Format.Bytes(TensorBytes(reader))} of tensor data "
            + $"({Format.Bytes(FileBytes(reader))} on disk)");
        Tables.Write(
            console,
            ["tensor", "dtype", "shape", ">bytes"],
            reader.Tensors.Select(t => new[] { t.Name, t.DType.IrName(), Format.Shape(t.Shape), Format.Count(t.ByteLength) }),
            reader.Tensors.Count);
        if (reader.Metadata.Count > 0)
        {
            var source = reader.MetadataSidecarPath is { } sidecar ? $" (from {sidecar})" : string.Empty;
            console.Out.WriteLine($"metadata{source}:");
            var metadata = Tables.Create(console, "key", "value");
            foreach (var (key, value) in reader.Metadata)
            {
                Tables.Row(metadata, key, value);
            }

            Tables.Write(console, metadata);
            try
            {
                if (CheckpointStamp.Read(reader.Metadata, reader.Path) is { } stamp)
                {
                    // What a project puts in NeuralSurgeryCheckpoints so the build checks it can upgrade this checkpoint (NS2008).
                    console.Out.WriteLine($"stamp: {stamp.Model} v{stamp.Version}; declare it in the training project as <NeuralSurgeryCheckpoints>{stamp.Model}@{stamp.Fingerprint[..System.Math.Min(16, stamp.Fingerprint.Length)]}</NeuralSurgeryCheckpoints>");
                }
            }
            catch (CheckpointFormatException e)
            {
                console.Out.WriteLine($"stamp: unusable ({e.Message})"); // inspect shows what is there; upgrade refuses it
            }
        }
        else
        {
            console.Out.WriteLine("metadata: none");
        }

        foreach (var warning in reader.Warnings)
        {
            console.Out.WriteLine("warning: " + ErrorReport.OneLine(warning));
        }
    }

    private static void WriteJson(CliConsole console, CheckpointReader reader) => JsonOutput.Write(console.Out, w =>
    {
        w.WriteStartObject();
        w.WriteString("path", reader.Path);
        w.WriteString("format", reader.Format.Name());
        w.WriteBoolean("sharded", reader.IsSharded);
        w.WriteStartArray("dataFiles");
        foreach (var file in reader.DataFiles)
        {
            w.WriteStringValue(file);
        }

        w.WriteEndArray();
        w.WriteNumber("tensorCount", reader.Tensors.Count);
        w.WriteNumber("elements", reader.Tensors.Sum(t => t.ElementCount));
        w.WriteNumber("tensorBytes", TensorBytes(reader));
        w.WriteNumber("fileBytes", FileBytes(reader));
        w.WriteStartArray("tensors");
        foreach (var t in reader.Tensors)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteString("dtype", t.DType.IrName());
            JsonOutput.WriteShape(w, "shape", t.Shape);
            w.WriteNumber("elements", t.ElementCount);
            w.WriteNumber("bytes", t.ByteLength);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartObject("metadata");
        foreach (var (key, value) in reader.Metadata)
        {
            w.WriteString(key, value);
        }

        w.WriteEndObject();
        if (reader.MetadataSidecarPath is { } sidecar)
        {
            w.WriteString("metadataSidecar", sidecar);
        }
        else
        {
            w.WriteNull("metadataSidecar");
        }

        w.WriteStartArray("warnings");
        foreach (var warning in reader.Warnings)
        {
            w.WriteStringValue(warning);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });
}
