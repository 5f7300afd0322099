using System.Globalization;
using System.Text;

namespace NeuralSurgery.Benchmarks;

/// <summary>One model pair for the <c>generator</c> command: C# files and schema files as a training repository holds them.</summary>
/// <param name="Name">Row label.</param>
/// <param name="Layers">Modules with parameters, per version.</param>
/// <param name="Files">C# files by path; <paramref name="EditedFile"/> is the one the model edit rewrites.</param>
/// <param name="Schemas">Schema files by path.</param>
/// <param name="EditedFile">The v2 model file.</param>
/// <param name="Edit">The v2 model file after an edit that changes its graph (widths), for the model-edit runs.</param>
internal sealed record GeneratorBenchModel(
    string Name,
    int Layers,
    (string Path, string Text)[] Files,
    (string Path, string Text)[] Schemas,
    string EditedFile,
    string Edit);

/// <summary>
/// The two models of the <c>generator</c> command, each in two versions with <c>[SurgeryFrom]</c>, so a run reads,
/// traces and emits two mirrors and plans one surgery: a 40-layer MLP (40 <c>Linear</c> fields, generated text) and
/// the OpenAI-Five-shaped policy of tests/NeuralSurgery.Generator.Tests/Reading/OpenAiFiveTests.cs (copied here as data:
/// that file is a test class; v2 adds a hero feature).
/// </summary>
internal static class GeneratorBenchSources
{
    private const string Usings = """
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        namespace Game.Models;

        """;

    public static GeneratorBenchModel Deep40()
    {
        const int layers = 40;
        var v1 = DeepSource("DeepV1", "deep.v1.features.yaml", null, layers, inputs: 16, width: 32);
        var v2 = DeepSource("DeepV2", "deep.v2.features.yaml", "DeepV1", layers, inputs: 17, width: 32);
        var edit = DeepSource("DeepV2", "deep.v2.features.yaml", "DeepV1", layers, inputs: 17, width: 48);
        return new GeneratorBenchModel(
            $"{layers}-layer MLP",
            layers,
            [("/repo/models/DeepV1.cs", v1), ("/repo/models/DeepV2.cs", v2)],
            [("/repo/models/deep.v1.features.yaml", DeepSchema(1, 16)), ("/repo/models/deep.v2.features.yaml", DeepSchema(2, 17))],
            "/repo/models/DeepV2.cs",
            edit);
    }

    public static GeneratorBenchModel OpenAiFive()
    {
        var v1 = FiveSource("FiveV1", "five.v1.features.yaml", null, heroFeatures: 10, hidden: 16);
        var v2 = FiveSource("FiveV2", "five.v2.features.yaml", "FiveV1", heroFeatures: 11, hidden: 16);
        var edit = FiveSource("FiveV2", "five.v2.features.yaml", "FiveV1", heroFeatures: 11, hidden: 24);
        return new GeneratorBenchModel(
            "OpenAI-Five-shaped",
            7,
            [("/repo/models/Heads.cs", Usings + Heads), ("/repo/models/FiveV1.cs", v1), ("/repo/models/FiveV2.cs", v2)],
            [("/repo/models/five.v1.features.yaml", FiveSchema(1)), ("/repo/models/five.v2.features.yaml", FiveSchema(2))],
            "/repo/models/FiveV2.cs",
            edit);
    }

    /// <summary>
    /// ResNet-18 for CIFAR-sized images (11.2 M parameters, 20 convolutions, 20 BatchNorm2d, 8 residual blocks of a
    /// user module class with a conditional projection shortcut); v2 reads a depth channel besides red, green and blue;
    /// the model edit widens the stem and the first stage from 64 to 80 channels.
    /// </summary>
    public static GeneratorBenchModel ResNet18()
    {
        var v1 = ResNetSource("ResNetV1", "resnet.v1.features.yaml", null, stem: 64);
        var v2 = ResNetSource("ResNetV2", "resnet.v2.features.yaml", "ResNetV1", stem: 64);
        var edit = ResNetSource("ResNetV2", "resnet.v2.features.yaml", "ResNetV1", stem: 80);
        return new GeneratorBenchModel(
            "ResNet-18",
            62,
            [("/repo/models/BasicBlock.cs", Usings + BasicBlock), ("/repo/models/ResNetV1.cs", v1), ("/repo/models/ResNetV2.cs", v2)],
            [("/repo/models/resnet.v1.features.yaml", ResNetSchema(1, "[red, green, blue]")), ("/repo/models/resnet.v2.features.yaml", ResNetSchema(2, "[red, green, blue, depth]"))],
            "/repo/models/ResNetV2.cs",
            edit);
    }

    private const string BasicBlock = """
        public sealed class BasicBlock : Module<Tensor, Tensor>
        {
            private readonly Conv2d conv1;
            private readonly BatchNorm2d bn1;
            private readonly Conv2d conv2;
            private readonly BatchNorm2d bn2;
            private readonly Module<Tensor, Tensor> shortcut;

            public BasicBlock(long inPlanes, long planes, long stride) : base(nameof(BasicBlock))
            {
                conv1 = Conv2d(inPlanes, planes, 3, stride: stride, padding: 1, bias: false);
                bn1 = BatchNorm2d(planes);
                conv2 = Conv2d(planes, planes, 3, padding: 1, bias: false);
                bn2 = BatchNorm2d(planes);
                shortcut = stride != 1 || inPlanes != planes
                    ? Sequential(Conv2d(inPlanes, planes, 1, stride: stride, bias: false), BatchNorm2d(planes))
                    : Sequential();
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                var y = functional.relu(bn1.forward(conv1.forward(x)));
                y = bn2.forward(conv2.forward(y));
                return functional.relu(y + shortcut.forward(x));
            }
        }
        """;

    private static string ResNetSource(string name, string schema, string? from, int stem)
    {
        var attributes = Attributes(schema, from);
        var channels = from is null ? 3 : 4;
        return Usings + attributes + $$"""
            public sealed partial class {{name}} : Module<Tensor, Tensor>
            {
                private readonly Conv2d conv1 = Conv2d({{channels}}, {{stem}}, 3, padding: 1, bias: false);
                private readonly BatchNorm2d bn1 = BatchNorm2d({{stem}});
                private readonly Sequential layer1 = Sequential(new BasicBlock({{stem}}, {{stem}}, 1), new BasicBlock({{stem}}, {{stem}}, 1));
                private readonly Sequential layer2 = Sequential(new BasicBlock({{stem}}, 128, 2), new BasicBlock(128, 128, 1));
                private readonly Sequential layer3 = Sequential(new BasicBlock(128, 256, 2), new BasicBlock(256, 256, 1));
                private readonly Sequential layer4 = Sequential(new BasicBlock(256, 512, 2), new BasicBlock(512, 512, 1));
                private readonly AdaptiveAvgPool2d pool = AdaptiveAvgPool2d(1);
                private readonly Linear fc = Linear(512, 10);

                public {{name}}() : base(nameof({{name}})) => RegisterComponents();

                public override Tensor forward(Tensor image)
                {
                    var x = functional.relu(bn1.forward(conv1.forward(image)));
                    x = layer4.forward(layer3.forward(layer2.forward(layer1.forward(x))));
                    return fc.forward(pool.forward(x).flatten(1));
                }
            }
            """;
    }

    private static string Attributes(string schema, string? from) =>
        $"[NeuralSurgery.SurgeryModel(\"{schema}\")]\n" + (from is null ? string.Empty : $"[NeuralSurgery.SurgeryFrom(typeof({from}))]\n");

    private static string ResNetSchema(int version, string channels) =>
        $"model: ResNet\nversion: {version}\ninputs:\n  image:\n    axes: [batch, features, 32, 32]\n    features: {channels}\n"
        + "outputs:\n  label:\n    features: [plane, car, bird, cat, deer, dog, frog, horse, ship, truck]\n";

    /// <summary>A file no model depends on, different for each <paramref name="revision"/>: the unrelated edit.</summary>
    public static (string Path, string Text) Unrelated(int revision) =>
        ("/repo/Notes.cs", "namespace Game.Other;\n\ninternal static class Notes\n{\n    public const int Revision = " + revision.ToString(CultureInfo.InvariantCulture) + ";\n}\n");

    private static string DeepSource(string name, string schema, string? from, int layers, int inputs, int width)
    {
        var s = new StringBuilder(Usings);
        s.Append(CultureInfo.InvariantCulture, $"[NeuralSurgery.SurgeryModel(\"{schema}\")]\n");
        if (from is not null)
        {
            s.Append(CultureInfo.InvariantCulture, $"[NeuralSurgery.SurgeryFrom(typeof({from}))]\n");
        }

        s.Append(CultureInfo.InvariantCulture, $"public sealed partial class {name} : Module<Tensor, Tensor>\n{{\n");
        s.Append(CultureInfo.InvariantCulture, $"    private const long Width = {width};\n\n");
        for (var i = 0; i < layers; i++)
        {
            var inSize = i == 0 ? inputs.ToString(CultureInfo.InvariantCulture) : "Width";
            var outSize = i == layers - 1 ? "4" : "Width";
            s.Append(CultureInfo.InvariantCulture, $"    private readonly Linear l{i} = Linear({inSize}, {outSize});\n");
        }

        s.Append(CultureInfo.InvariantCulture, $"\n    public {name}() : base(nameof({name})) => RegisterComponents();\n\n");
        s.Append("    public override Tensor forward(Tensor x)\n    {\n        var h = x;\n");
        for (var i = 0; i < layers - 1; i++)
        {
            s.Append(CultureInfo.InvariantCulture, $"        h = functional.relu(l{i}.forward(h));\n");
        }

        s.Append(CultureInfo.InvariantCulture, $"        return l{layers - 1}.forward(h);\n    }}\n}}\n");
        return s.ToString();
    }

    private static string DeepSchema(int version, int inputs)
    {
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"model: Deep\nversion: {version}\ninputs:\n  x:\n    features:\n");
        for (var i = 0; i < inputs; i++)
        {
            s.Append(CultureInfo.InvariantCulture, $"      - f{i}\n");
        }

        s.Append("outputs:\n  y:\n    features: [a0, a1, a2, a3]\n");
        return s.ToString();
    }

    private const string Heads = """
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
        """;

    private static string FiveSource(string name, string schema, string? from, int heroFeatures, int hidden)
    {
        var attributes = Attributes(schema, from);
        return Usings + attributes + $$"""
            public sealed partial class {{name}} : Module<Tensor, Tensor, Tensor, Tensor, Tensor, (Tensor, Tensor, Tensor, Tensor)>
            {
                private const long Hidden = {{hidden}};
                private const long Encoder = 8;

                private readonly Linear hero_encoder = Linear({{heroFeatures}}, Encoder);
                private readonly Embedding hero_embedding = Embedding(5, 4);
                private readonly Linear unit_encoder = nn.Linear(inputSize: 6, outputSize: Encoder);
                private readonly Linear core;
                private readonly LSTM lstm;
                private readonly Heads heads;

                public {{name}}() : base(nameof({{name}}))
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
    }

    private static string FiveSchema(int version) => $$"""
        model: Policy
        version: {{version}}
        inputs:
          hero:
            features: [max_health, health, { name: position, width: 2 }, level, mana, armor, attack, speed, range{{(version == 2 ? ", gold" : string.Empty)}}]
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
}
