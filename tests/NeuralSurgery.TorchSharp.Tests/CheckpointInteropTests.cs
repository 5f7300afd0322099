using System;
using System.IO;
using System.Linq;
using NeuralSurgery.Runtime.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// The checkpoint codec against TorchSharp's own Module.save/load, byte for byte, on every layer kind the model reader
/// knows and every dtype the format holds (float32/64/16, bfloat16, int64/32/16/8, uint8, bool, 0-dim tensors).
/// </summary>
public sealed class CheckpointInteropTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ns-interop-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Precisions => new() { "float32", "float64", "float16", "bfloat16" };

    [Theory]
    [MemberData(nameof(Precisions))]
    public void Module_save_and_the_codec_write_the_same_bytes_and_read_each_other(string precision)
    {
        torch.manual_seed(5);
        var model = new EveryLayer(Precision(precision));
        var torchFile = Path.Combine(_dir, "torchsharp.dat");
        model.save(torchFile);
        var expected = File.ReadAllBytes(torchFile);

        // The codec reads TorchSharp's file and writes it back unchanged.
        var read = StateDict.Load(torchFile, CheckpointFormat.TorchSharp);
        var ours = Path.Combine(_dir, "ours.dat");
        read.Save(ours, CheckpointFormat.TorchSharp);
        Assert.Equal(expected, File.ReadAllBytes(ours));

        // A live module's state dict, written by the codec, is what Module.save writes.
        var live = Path.Combine(_dir, "live.dat");
        LiveStateDict.Of(model).Save(live, CheckpointFormat.TorchSharp);
        Assert.Equal(expected, File.ReadAllBytes(live));

        // TorchSharp's strict load reads the codec's file into a fresh module, bit for bit.
        var fresh = new EveryLayer(Precision(precision));
        fresh.load(ours);
        var before = model.state_dict();
        foreach (var (name, tensor) in fresh.state_dict())
        {
            Assert.Equal(before[name].dtype, tensor.dtype);
            Assert.Equal(before[name].shape, tensor.shape);
            Assert.True(before[name].bytes.SequenceEqual(tensor.bytes), $"{name} differs after loading the codec's file");
        }

        Assert.Equal(read.Tensors.Select(t => t.Name), before.Keys);
    }

    [Fact]
    public void Every_dtype_and_a_0_dim_tensor_round_trip_through_TorchSharp_and_safetensors()
    {
        var model = new EveryLayer(ScalarType.Float32);
        var read = LiveStateDict.Of(model);
        Assert.Equal(
            ["float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"],
            read.Tensors.Where(t => t.Name.StartsWith("extra_", StringComparison.Ordinal)).Select(t => t.DType.IrName()));
        Assert.Contains(read.Tensors, t => t.Name == "batch_norm.num_batches_tracked" && t.DType == DType.Int64 && t.Rank == 0);

        var safetensors = Path.Combine(_dir, "model.safetensors");
        read.Save(safetensors, CheckpointFormat.Safetensors);
        var back = StateDict.Load(safetensors);
        var torchFile = Path.Combine(_dir, "back.dat");
        back.Save(torchFile, CheckpointFormat.TorchSharp);
        var fresh = new EveryLayer(ScalarType.Float32);
        fresh.load(torchFile);
        var expected = Path.Combine(_dir, "expected.dat");
        model.save(expected);
        var actual = Path.Combine(_dir, "actual.dat");
        fresh.save(actual);
        Assert.Equal(File.ReadAllBytes(expected), File.ReadAllBytes(actual));
    }

    [Fact]
    public void A_checkpoint_whose_shape_disagrees_is_refused_by_TorchSharp_even_when_read_by_the_codec()
    {
        // Why surgery exists: TorchSharp will not load a file after a layer changed, and neither guesses.
        var model = new EveryLayer(ScalarType.Float32);
        var dict = LiveStateDict.Of(model);
        var weight = dict.Find("linear.weight")!;
        dict.Replace(TensorInfo.Create("linear.weight", DType.Float32, 3, 4), new byte[3 * 4 * 4]);
        var path = Path.Combine(_dir, "narrow.dat");
        dict.Save(path, CheckpointFormat.TorchSharp);
        Assert.ThrowsAny<Exception>(() => new EveryLayer(ScalarType.Float32).load(path));
        Assert.Equal([3L, 4L], StateDict.Load(path).Find("linear.weight")!.Shape);
        Assert.NotEqual(weight.Shape, StateDict.Load(path).Find("linear.weight")!.Shape);
    }

    private static ScalarType Precision(string name) => name switch
    {
        "float64" => ScalarType.Float64,
        "float16" => ScalarType.Float16,
        "bfloat16" => ScalarType.BFloat16,
        _ => ScalarType.Float32,
    };

    /// <summary>Every layer kind the reader knows, parameters in one precision, and a buffer of every dtype.</summary>
    private sealed class EveryLayer : Module<Tensor, Tensor>
    {
        private readonly Linear linear = Linear(4, 5);
        private readonly Embedding embedding = Embedding(6, 3);
        private readonly Conv1d conv = Conv1d(3, 4, 3);
        private readonly LSTM lstm = LSTM(4, 5, numLayers: 2, bidirectional: true);
        private readonly GRU gru = GRU(5, 3);
        private readonly LayerNorm layer_norm = LayerNorm(5);
        private readonly BatchNorm1d batch_norm = BatchNorm1d(5);
        private readonly Sequential stack = Sequential(Linear(5, 5), ReLU(), Linear(5, 2));

        public EveryLayer(ScalarType precision)
            : base(nameof(EveryLayer))
        {
            RegisterComponents();
            if (precision != ScalarType.Float32)
            {
                this.to(precision);
            }

            register_buffer("extra_f64", torch.randn(3, dtype: ScalarType.Float64));
            register_buffer("extra_f16", torch.randn(2, 2, dtype: ScalarType.Float16));
            register_buffer("extra_bf16", torch.randn(3, dtype: ScalarType.BFloat16));
            register_buffer("extra_i64", torch.tensor(new long[] { -1, long.MaxValue, 7 }));
            register_buffer("extra_i32", torch.tensor(new[] { int.MinValue, 0, 42 }));
            register_buffer("extra_i16", torch.tensor(new short[] { -300, 300 }));
            register_buffer("extra_i8", torch.tensor(new sbyte[] { -128, 127 }));
            register_buffer("extra_u8", torch.tensor(new byte[] { 0, 255, 9 }));
            register_buffer("extra_bool", torch.tensor(new[] { true, false, true }));
        }

        public override Tensor forward(Tensor input) => stack.forward(input);
    }
}
