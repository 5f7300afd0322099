namespace NeuralSurgery.Generator.Tests.Generator;

/// <summary>
/// A policy in two versions as a training repository keeps them: v2 adds a hero feature, a categorical hero value
/// and an action, and declares <c>[SurgeryFrom(typeof(PolicyV1))]</c>.
/// </summary>
internal static class EvolutionSources
{
    public const string V1Path = "/repo/models/policy.v1.features.yaml";

    public const string V2Path = "/repo/models/policy.v2.features.yaml";

    public const string V1Schema = """
        model: Policy
        version: 1
        inputs:
          hero:
            features:
              - max_health
              - attack_damage
              - { name: position, width: 2 }
          hero_id:
            categorical: [axe, bane, lich]
        outputs:
          logits:
            features: [noop, move, attack]
        """;

    public const string V2Schema = """
        model: Policy
        version: 2
        inputs:
          hero:
            features:
              - max_health
              - attack_damage
              - { name: position, width: 2 }
              - mana
          hero_id:
            categorical: [axe, bane, lich, sven]
        outputs:
          logits:
            features: [noop, move, attack, cast]
        """;

    public const string Models = """
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        namespace Game.Models;

        [NeuralSurgery.SurgeryModel("policy.v1.features.yaml")]
        public sealed partial class PolicyV1 : Module<Tensor, Tensor, Tensor>
        {
            private readonly Linear encoder = Linear(4, 8);
            private readonly Embedding hero_embedding = Embedding(3, 2);
            private readonly Linear head = Linear(10, 3);

            public PolicyV1() : base(nameof(PolicyV1)) => RegisterComponents();

            public override Tensor forward(Tensor hero, Tensor hero_id)
            {
                var x = torch.cat([functional.relu(encoder.forward(hero)), hero_embedding.call(hero_id)], -1);
                return head.forward(x);
            }
        }

        [NeuralSurgery.SurgeryModel("policy.v2.features.yaml")]
        [NeuralSurgery.SurgeryFrom(typeof(PolicyV1))]
        public sealed partial class PolicyV2 : Module<Tensor, Tensor, Tensor>
        {
            private readonly Linear encoder = Linear(5, 8);
            private readonly Embedding hero_embedding = Embedding(4, 2);
            private readonly Linear head = Linear(10, 4);

            public PolicyV2() : base(nameof(PolicyV2)) => RegisterComponents();

            public override Tensor forward(Tensor hero, Tensor hero_id)
            {
                var x = torch.cat([functional.relu(encoder.forward(hero)), hero_embedding.call(hero_id)], -1);
                return head.forward(x);
            }
        }
        """;
}
