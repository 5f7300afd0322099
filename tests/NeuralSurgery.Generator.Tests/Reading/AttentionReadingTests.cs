using System;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>
/// torch.nn.MultiheadAttention, TransformerEncoderLayer and TransformerEncoder as the TorchSharp examples use them
/// (sequence first, an additive causal mask passed to forward): read as the packed projection plus graph ops, with
/// TorchSharp's state_dict names, and what the mirror does not follow refused at the call.
/// </summary>
public class AttentionReadingTests
{
    private const string Encoder = """
        public sealed class Encoder : Module<Tensor, Tensor, Tensor>
        {
            private readonly Linear embed = Linear(3, 8);
            private readonly TransformerEncoder stack = TransformerEncoder(TransformerEncoderLayer(8, 2, 16, 0.1), 2);
            private readonly Linear head = Linear(8, 2);

            public Encoder() : base("encoder") => RegisterComponents();

            public override Tensor forward(Tensor track, Tensor mask) => head.forward(stack.call(embed.forward(track), mask).mean([0]));
        }
        """;

    private const string Schema = """
        model: Encoder
        version: 1
        inputs:
          track:
            axes: [time, batch, features]
            features: [x, y, speed]
        outputs:
          intent:
            features: [stay, leave]
        """;

    private const string SelfAttention = """
        public sealed class Mixer : Module<Tensor, Tensor>
        {
            private readonly MultiheadAttention attention = MultiheadAttention(4, 2);
            private readonly Linear head = Linear(4, 2);

            public Mixer() : base("mixer") => RegisterComponents();

            public override Tensor forward(Tensor track)
            {
                var (mixed, _) = attention.call(track, track, track);
                return head.forward(mixed.mean([0]));
            }
        }
        """;

    private const string MixerSchema = """
        model: Mixer
        version: 1
        inputs:
          track:
            axes: [time, batch, features]
            features: [x, y, speed, heading]
        outputs:
          intent:
            features: [stay, leave]
        """;

    [Fact]
    public void A_transformer_encoder_reads_with_TorchSharps_names_and_the_mask_as_a_state_input()
    {
        var graph = ModelSource.Graph(ModelSource.Read(Encoder, "Encoder", Schema));

        var layer = new[]
        {
            "self_attn.in_proj_weight [24, 8]", "self_attn.in_proj_bias [24]", "self_attn.out_proj.weight [8, 8]", "self_attn.out_proj.bias [8]",
            "linear1.weight [16, 8]", "linear1.bias [16]", "linear2.weight [8, 16]", "linear2.bias [8]",
            "norm1.weight [8]", "norm1.bias [8]", "norm2.weight [8]", "norm2.bias [8]",
        };
        Assert.Equal(
            new[] { "embed.weight [8, 3]", "embed.bias [8]" }
                .Concat(layer.Select(p => "stack.layers.0." + p))
                .Concat(layer.Select(p => "stack.layers.1." + p))
                .Concat(["head.weight [2, 8]", "head.bias [2]"]),
            ModelSource.StateDict(graph));
        Assert.Equal(new AttentionProjectionSpec(8, 2), graph.FindModule("stack.layers.1.self_attn")!.Spec);
        Assert.Contains("mask State [time, time]", ModelSource.Inputs(graph));
        Assert.Equal("[B, 2]", graph.ShapeOf(graph.Outputs[0].Value).ToString());

        // Per layer: softmax over the keys, the 1/√(head dim) scale, the mask added, two residual adds.
        Assert.Equal(2, graph.Nodes.Count(n => n.Op is SoftmaxOp { Axis: 3 }));
        Assert.Equal(2, graph.Nodes.Count(n => n.Op is ScaleOp { Factor: 0.5 }));
        Assert.Equal(6, graph.Nodes.Count(n => n.Op is BinaryOp { Operation: BinaryKind.Add }));

        // Attention mixes the positions of a sequence, never its features: every feature reaches every projection
        // row, and the mask (data, not a feature) reaches nothing. Both tracers agree.
        var features = FeatureSpace.Bind(graph, ModelSource.Schema(Schema));
        var map = StructuredTracer.Trace(graph, features);
        var reference = ReferenceTracer.Trace(graph, features);
        Assert.Equal(FeatureSet.Of(0, 1, 2), map.Parameters["stack.layers.0.self_attn.in_proj_weight"].FeaturesAt([20, 5]));
        foreach (var p in graph.Parameters)
        {
            Assert.Equal(reference.Parameters[p.Name], map.Parameters[p.Name].Expand());
        }

        // The packed rows are three unit spaces, one per block, like an LSTM's gate blocks.
        Assert.Contains(map.KeySpaces, s => s.Name == "stack.layers.0.self_attn.k" && s.Size == 8);
    }

    [Fact]
    public void A_self_attention_module_returns_its_output_and_weights_as_a_tuple()
    {
        var graph = ModelSource.Graph(ModelSource.Read(SelfAttention, "Mixer", MixerSchema));

        Assert.Equal(
            new[] { "attention.in_proj_weight [12, 4]", "attention.in_proj_bias [12]", "attention.out_proj.weight [4, 4]", "attention.out_proj.bias [4]", "head.weight [2, 4]", "head.bias [2]" },
            ModelSource.StateDict(graph));
        Assert.Equal(new[] { "track Features [time, B, 4]" }, ModelSource.Inputs(graph));
        var features = FeatureSpace.Bind(graph, ModelSource.Schema(MixerSchema));
        Assert.Equal(ReferenceTracer.Trace(graph, features).Parameters["head.weight"], StructuredTracer.Trace(graph, features).Parameters["head.weight"].Expand());
    }

    [Fact]
    public void Wider_heads_keep_each_heads_rows_and_say_the_outputs_change()
    {
        // 2 heads of 2 → 2 heads of 3: unit (block, head, index) maps to the same place, and the plan says why eq. 1
        // cannot hold (the 1/√d scale and every head's dot products change).
        var wide = """
            public sealed class Mixer : Module<Tensor, Tensor>
            {
                private readonly Linear embed = Linear(4, 6);
                private readonly MultiheadAttention attention = MultiheadAttention(6, 2);
                private readonly Linear head = Linear(6, 2);

                public Mixer() : base("mixer") => RegisterComponents();

                public override Tensor forward(Tensor track) => head.forward(attention.call(embed.forward(track), embed.forward(track), embed.forward(track), null, false, null).Item1.mean([0]));
            }
            """;
        var narrow = wide.Replace("Linear(4, 6)", "Linear(4, 4)").Replace("MultiheadAttention(6, 2)", "MultiheadAttention(4, 2)").Replace("Linear(6, 2)", "Linear(4, 2)");
        var schema = ModelSource.Schema(MixerSchema);
        var plan = SurgeryDiffer.Diff(
            ModelSide.Trace(ModelSource.Graph(ModelSource.Read(narrow, "Mixer", MixerSchema)), schema),
            ModelSide.Trace(ModelSource.Graph(ModelSource.Read(wide, "Mixer", MixerSchema)), schema));

        var axis = plan.FindTensor("attention.in_proj_weight")!.Axes[0];
        var rows = Enumerable.Range(0, (int)axis.Length).Select(i => axis.SourceIndex(i)).ToArray();
        Assert.Equal(new long[] { 0, 1, -1, 2, 3, -1, 4, 5, -1, 6, 7, -1, 8, 9, -1, 10, 11, -1 }, rows);
        Assert.Contains(plan.Notes, n => n.Contains("attention 'attention' has heads of 3 (were 2)"));
    }

    private const string Sequence = """
        public sealed class Translator : Module<Tensor, Tensor, Tensor>
        {
            private readonly Embedding tokens = Embedding(5, 8);
            private readonly Positions positions = new Positions(8);
            private readonly TransformerEncoder encoder = TransformerEncoder(TransformerEncoderLayer(8, 2, 16, 0.1), 1);
            private long width;

            public Translator() : base("translator")
            {
                width = 8;
                RegisterComponents();
            }

            public override Tensor forward(Tensor t, Tensor mask) => encoder.call(positions.forward(tokens.forward(t) * MathF.Sqrt(width)), mask);
        }

        public sealed class Positions : Module<Tensor, Tensor>
        {
            private Tensor table;

            public Positions(long dmodel, int maxLen = 50) : base("Positions")
            {
                var pe = torch.zeros(new long[] { maxLen, dmodel });
                var position = torch.arange(0, maxLen, 1).unsqueeze(1);
                pe[TensorIndex.Ellipsis, TensorIndex.Slice(0, null, 2)] = (position * 0.5).sin();
                table = pe.unsqueeze(0).transpose(0, 1);
                RegisterComponents();
            }

            public override Tensor forward(Tensor t) => t + table[TensorIndex.Slice(null, t.shape[0]), TensorIndex.Slice()];
        }
        """;

    private const string SequenceSchema = """
        model: Translator
        version: 1
        inputs:
          t:
            categorical: [pad, unk, the, a, of]
            axes: [time, batch]
        """;

    [Fact]
    public void The_TorchSharp_sequence_example_reads_its_position_table_cut_to_the_sequence_and_its_scale()
    {
        var result = ModelSource.Read(Sequence, "Translator", SequenceSchema);
        var graph = ModelSource.Graph(result);

        // A private field only the constructor writes is as fixed as a readonly one: √8 is an exact scale.
        Assert.Empty(result.Diagnostics);
        Assert.Equal(Math.Sqrt(8), graph.Nodes.Select(n => n.Op).OfType<ScaleOp>().Single(s => s.Factor > 1).Factor, 6);

        // The table is a buffer [maxLen, 1, d] made by zeros(...).unsqueeze(0).transpose(0, 1), cut to the sequence.
        Assert.Contains("positions.table [50, 1, 8]", ModelSource.StateDict(graph));
        Assert.Equal(Dim.Symbol("time"), graph.Nodes.Select(n => n.Op).OfType<NarrowOp>().Single().Length);

        // Row k of the table meets the tokens at position k: with the trace's two steps, rows 0 and 1 meet every word
        // and the rows past the sequence nothing. Both tracers agree.
        var features = FeatureSpace.Bind(graph, ModelSource.Schema(SequenceSchema));
        var map = StructuredTracer.Trace(graph, features);
        Assert.Equal(FeatureSet.Of(0, 1, 2, 3, 4), map.Parameters["positions.table"].FeaturesAt([1, 0, 3]));
        Assert.Equal(FeatureSet.Empty, map.Parameters["positions.table"].FeaturesAt([2, 0, 3]));
        var reference = ReferenceTracer.Trace(graph, features);
        foreach (var p in graph.Parameters)
        {
            Assert.Equal(reference.Parameters[p.Name], map.Parameters[p.Name].Expand());
        }
    }

    [Fact]
    public void A_field_that_forward_or_another_method_writes_stays_unknown_in_forward()
    {
        var source = Sequence.Replace("public override Tensor forward(Tensor t, Tensor mask) =>", "public void Widen() => width = 16;\n\n    public override Tensor forward(Tensor t, Tensor mask) =>");
        var result = ModelSource.Read(source, "Translator", SequenceSchema);

        Assert.DoesNotContain(result.Graph?.Nodes.Select(n => n.Op).OfType<ScaleOp>() ?? [], s => Math.Abs(s.Factor - Math.Sqrt(8)) < 1e-9);
        Assert.NotEmpty(result.Diagnostics);
    }

    private const string Gpt = """
        public sealed class Gpt : Module<Tensor, Tensor>
        {
            private readonly Embedding wte = Embedding(5, 8);
            private readonly Embedding wpe = Embedding(16, 8);
            private readonly Linear head = Linear(8, 5);

            public Gpt() : base("gpt") => RegisterComponents();

            public override Tensor forward(Tensor idx)
            {
                var t = idx.shape[1];
                var pos = torch.arange(0, t, dtype: ScalarType.Int64);
                return head.forward(wte.forward(idx) + wpe.forward(pos));
            }
        }
        """;

    [Fact]
    public void A_learned_position_table_reads_through_an_arange_of_the_sequence_length()
    {
        const string schema = """
            model: Gpt
            version: 1
            inputs:
              idx:
                categorical: [pad, the, a, of, cat]
                axes: [batch, time]
            """;
        var graph = ModelSource.Graph(ModelSource.Read(Gpt, "Gpt", schema));

        Assert.Equal(Dim.Symbol("time"), graph.Nodes.Select(n => n.Op).OfType<ArangeOp>().Single().End);
        Assert.Equal("[B, time, 5]", graph.ShapeOf(graph.Outputs[0].Value).ToString());

        // The lookup is rows 0..T-1 of the position table added to the token embeddings (Table 1's x + w): a row
        // meets every word that can sit at its position, rows past the sequence nothing; the token table's rows
        // meet their word.
        var features = FeatureSpace.Bind(graph, ModelSource.Schema(schema));
        var map = StructuredTracer.Trace(graph, features);
        Assert.Equal(FeatureSet.Of(0, 1, 2, 3, 4), map.Parameters["wpe.weight"].FeaturesAt([1, 3]));
        Assert.Equal(FeatureSet.Empty, map.Parameters["wpe.weight"].FeaturesAt([5, 3]));
        Assert.Equal(FeatureSet.Of(2), map.Parameters["wte.weight"].FeaturesAt([2, 3]));
        var reference = ReferenceTracer.Trace(graph, features);
        foreach (var p in graph.Parameters)
        {
            Assert.Equal(reference.Parameters[p.Name], map.Parameters[p.Name].Expand());
        }
    }

    [Fact]
    public void An_arange_read_by_anything_but_an_embedding_is_refused()
    {
        var source = Gpt.Replace("wte.forward(idx) + wpe.forward(pos)", "wte.forward(idx) + pos.unsqueeze(-1)");
        var result = ModelSource.Read(source, "Gpt", "model: Gpt\nversion: 1\ninputs:\n  idx:\n    categorical: [pad, the, a, of, cat]\n    axes: [batch, time]\n");

        Assert.Null(result.Graph);
        Assert.Contains(ModelSource.Diagnostics(result), d => d.Contains("is an arange made in forward; only an Embedding call may read it"));
    }

    [Theory]
    [InlineData("MultiheadAttention(4, 2, add_bias_kv: true)", "add_bias_kv, add_zero_attn and a kdim or vdim other than embed_dim are not followed")]
    [InlineData("MultiheadAttention(4, 2, kdim: 3)", "add_bias_kv, add_zero_attn and a kdim or vdim other than embed_dim are not followed")]
    [InlineData("MultiheadAttention(4, 3)", "embed_dim (4) must be divisible by num_heads (3)")]
    public void Attention_the_mirror_does_not_follow_is_refused_at_the_factory(string factory, string message)
    {
        var result = ModelSource.Read(SelfAttention.Replace("MultiheadAttention(4, 2)", factory), "Mixer", MixerSchema);

        Assert.Null(result.Graph);
        Assert.Contains(ModelSource.Diagnostics(result), d => d.Contains(message));
    }

    [Fact]
    public void A_key_padding_mask_is_refused_with_what_to_pass_instead()
    {
        var source = SelfAttention
            .Replace("Module<Tensor, Tensor>", "Module<Tensor, Tensor, Tensor>")
            .Replace("forward(Tensor track)", "forward(Tensor track, Tensor padding)")
            .Replace("attention.call(track, track, track)", "attention.call(track, track, track, padding)");
        var result = ModelSource.Read(source, "Mixer", MixerSchema);

        Assert.Null(result.Graph);
        Assert.Contains(ModelSource.Diagnostics(result), d => d.Contains("a key padding mask is not followed") && d.Contains("mask through attn_mask"));
    }
}
