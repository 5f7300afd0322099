using NeuralSurgery.Graph;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>
/// An OpenAI-Five-shaped policy written as a user would write it: a per-unit encoder with a max pool over a set
/// input, an embedding of a categorical input, a concat, an LSTM fed by state inputs, heads in a nested module and a
/// tuple return.
/// </summary>
public class OpenAiFiveTests
{
    public const string Source = """
        public sealed class Heads : Module<Tensor, (Tensor, Tensor)>
        {
            private readonly Linear action_type;
            private readonly Linear target;

            public Heads(long hidden) : base(nameof(Heads))
            {
                action_type = Linear(hidden, 5);
                target = Linear(hidden, 3);
                RegisterComponents();
            }

            public override (Tensor, Tensor) forward(Tensor state) => (action_type.forward(state), target.forward(state));
        }

        public sealed class Policy : Module<Tensor, Tensor, Tensor, Tensor, Tensor, (Tensor, Tensor, Tensor, Tensor)>
        {
            private const long Hidden = 16;
            private const long Encoder = 8;

            private readonly Linear hero_encoder = Linear(10, Encoder);
            private readonly Embedding hero_embedding = Embedding(5, 4);
            private readonly Linear unit_encoder = nn.Linear(inputSize: 6, outputSize: Encoder);
            private readonly Linear core;
            private readonly LSTM lstm;
            private readonly Heads heads;

            public Policy() : base(nameof(Policy))
            {
                core = Linear(2 * Encoder + 4, Hidden);
                lstm = LSTM(Hidden, Hidden);
                heads = new Heads(Hidden);
                RegisterComponents();
            }

            public override (Tensor, Tensor, Tensor, Tensor) forward(Tensor hero, Tensor hero_id, Tensor units, Tensor h0, Tensor c0)
            {
                using var scope = torch.NewDisposeScope();
                var heroEnc = functional.relu(hero_encoder.forward(hero));
                var heroEmb = hero_embedding.call(hero_id);
                var pooled = unit_encoder.forward(units).relu().max(1).values;
                var x = torch.cat([heroEnc, heroEmb, pooled], -1);
                x = core.forward(x).relu().unsqueeze(0);
                var (seq, h, c) = lstm.forward(x, (h0, c0));
                var (action_type, target) = heads.forward(seq.squeeze(0));
                return (action_type.MoveToOuterDisposeScope(), target.MoveToOuterDisposeScope(), h, c);
            }
        }
        """;

    public const string Yaml = """
        model: Policy
        version: 1
        inputs:
          hero:
            features: [max_health, health, { name: position, width: 2 }, level, mana, armor, attack, speed, range]
          hero_id:
            categorical: [axe, bane, lich, lion, sven]
          units:
            set: true
            features: [health, { name: position, width: 2 }, is_enemy, distance, armor]
        outputs:
          action_type:
            features: [noop, move, attack, cast, item]
          target:
            features: [t0, t1, t2]
        """;

    [Fact]
    public void Reads_modules_in_registration_order_with_state_dict_names()
    {
        var g = ModelSource.Graph(ModelSource.Read(Source, "Policy", Yaml));
        Assert.Equal(
            new[]
            {
                "hero_encoder.weight [8, 10]", "hero_encoder.bias [8]",
                "hero_embedding.weight [5, 4]",
                "unit_encoder.weight [8, 6]", "unit_encoder.bias [8]",
                "core.weight [16, 20]", "core.bias [16]",
                "lstm.weight_ih_l0 [64, 16]", "lstm.weight_hh_l0 [64, 16]", "lstm.bias_ih_l0 [64]", "lstm.bias_hh_l0 [64]",
                "heads.action_type.weight [5, 16]", "heads.action_type.bias [5]",
                "heads.target.weight [3, 16]", "heads.target.bias [3]",
            },
            ModelSource.StateDict(g));
    }

    [Fact]
    public void Reads_forward_into_nodes_inputs_and_outputs()
    {
        var g = ModelSource.Graph(ModelSource.Read(Source, "Policy", Yaml));
        Assert.Equal("Policy", g.Name);
        Assert.Equal(
            new[]
            {
                "hero Features [B, 10]", "hero_id Categorical [B]", "units Features [B, N, 6]",
                "h0 State [1, B, 16]", "c0 State [1, B, 16]",
            },
            ModelSource.Inputs(g));
        Assert.Equal(
            new[]
            {
                "hero_encoder = call hero_encoder(hero) -> [B, 8]",
                "relu = relu(hero_encoder) -> [B, 8]",
                "hero_embedding = call hero_embedding(hero_id) -> [B, 4]",
                "unit_encoder = call unit_encoder(units) -> [B, N, 8]",
                "relu_1 = relu(unit_encoder) -> [B, N, 8]",
                "max = max 1(relu_1) -> [B, 8]",
                "cat = concat 1(relu, hero_embedding, max) -> [B, 20]",
                "core = call core(cat) -> [B, 16]",
                "relu_2 = relu(core) -> [B, 16]",
                "unsqueeze = unsqueeze 0(relu_2) -> [1, B, 16]",
                "lstm = call lstm(unsqueeze, h0, c0) -> [1, B, 16], [1, B, 16], [1, B, 16]",
                "squeeze = squeeze 0(lstm) -> [B, 16]",
                "heads_action_type = call heads.action_type(squeeze) -> [B, 5]",
                "heads_target = call heads.target(squeeze) -> [B, 3]",
            },
            ModelSource.Nodes(g));
        Assert.Equal(
            new[] { "action_type = heads_action_type", "target = heads_target", "h = lstm:1 (state)", "c = lstm:2 (state)" },
            ModelSource.Outputs(g));
    }

    [Fact]
    public void The_graph_binds_to_its_schema_and_traces()
    {
        var schema = ModelSource.Schema(Yaml);
        var g = ModelSource.Graph(ModelSource.Read(Source, "Policy", schema));
        var space = FeatureSpace.Bind(g, schema);
        Assert.Equal(10 + 5 + 6, space.Count);
        var phi = StructuredTracer.Trace(g, space);
        Assert.NotNull(phi);

        // The concat feeds core.weight's columns from the hero encoder (0-7), the hero embedding (8-11) and the unit pool.
        var reference = ReferenceTracer.Trace(g, space);
        Assert.NotNull(reference);
    }

    [Fact]
    public void Reading_twice_gives_equal_results()
    {
        var a = ModelSource.Read(Source, "Policy", Yaml);
        var b = ModelSource.Read(Source, "Policy", Yaml);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }
}
