using System;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using NeuralSurgery.Collections;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Snapshots;
using NeuralSurgery.Tests.Support;
using static NeuralSurgery.Tests.Diff.DiffModels;

// Not NeuralSurgery.Tests.Plan: that namespace would hide NeuralSurgery.Plan from DiffModels' "Plan.SurgeryPlan".
namespace NeuralSurgery.Tests.Plans;

public class PlanJsonTests
{
    private const string File = "plans/policy.v1-v2.plan.json";

    /// <summary>
    /// The checked-in JSON of <see cref="GoldenPlan"/> (an MLP whose obs gains feature x in the middle);
    /// a change here is a format change.
    /// </summary>
    private const string Golden = """
        {
          "format": "neuralsurgery.plan",
          "version": 1,
          "from": {
            "model": "Policy",
            "version": 1,
            "fingerprint": "de4f2a41844796f8fe8c26d194c74225a01b650cb0880e6854d75da940edaf8e"
          },
          "to": {
            "model": "Policy",
            "version": 2,
            "fingerprint": "0303ecbb8ae25f060fba43e31edcb0146b28335a286a0186be2f73306d6d2566"
          },
          "options": {
            "newOutputBias": 0,
            "moduleRenames": [],
            "unitMaps": []
          },
          "totals": {
            "copied": 17,
            "target": 19,
            "source": 17,
            "shareOfTarget": 0.8947368421052632,
            "shareOfSource": 1
          },
          "tensors": [
            {
              "name": "fc1.weight",
              "shape": [2, 4],
              "dtype": "float32",
              "buffer": false,
              "source": "fc1.weight",
              "sourceShape": [2, 3],
              "axes": [
                {
                  "role": "output",
                  "length": 2,
                  "sourceLength": 2,
                  "unmapped": {"kind": "uniform", "value": 0.5},
                  "segments": [[0, 2, 0]]
                },
                {
                  "role": "input",
                  "length": 4,
                  "sourceLength": 3,
                  "unmapped": {"kind": "zeros"},
                  "segments": [[0, 1, 0], [1, 1, -1], [2, 2, 1]]
                }
              ],
              "initOrder": [1, 0],
              "init": {"kind": "uniform", "value": 0.5},
              "copied": 6,
              "total": 8
            },
            {
              "name": "fc1.bias",
              "shape": [2],
              "dtype": "float32",
              "buffer": false,
              "source": "fc1.bias",
              "sourceShape": [2],
              "axes": [
                {
                  "role": "output",
                  "length": 2,
                  "sourceLength": 2,
                  "unmapped": {"kind": "uniform", "value": 0.5},
                  "segments": [[0, 2, 0]]
                }
              ],
              "initOrder": [0],
              "init": {"kind": "uniform", "value": 0.5},
              "copied": 2,
              "total": 2
            },
            {
              "name": "head.weight",
              "shape": [3, 2],
              "dtype": "float32",
              "buffer": false,
              "source": "head.weight",
              "sourceShape": [3, 2],
              "axes": [
                {
                  "role": "output",
                  "length": 3,
                  "sourceLength": 3,
                  "unmapped": {"kind": "zeros"},
                  "segments": [[0, 3, 0]]
                },
                {
                  "role": "input",
                  "length": 2,
                  "sourceLength": 2,
                  "unmapped": {"kind": "zeros"},
                  "segments": [[0, 2, 0]]
                }
              ],
              "initOrder": [1, 0],
              "init": {"kind": "uniform", "value": 0.7071067811865475},
              "copied": 6,
              "total": 6
            },
            {
              "name": "head.bias",
              "shape": [3],
              "dtype": "float32",
              "buffer": false,
              "source": "head.bias",
              "sourceShape": [3],
              "axes": [
                {
                  "role": "output",
                  "length": 3,
                  "sourceLength": 3,
                  "unmapped": {"kind": "constant", "value": 0},
                  "segments": [[0, 3, 0]]
                }
              ],
              "initOrder": [0],
              "init": {"kind": "uniform", "value": 0.7071067811865475},
              "copied": 3,
              "total": 3
            }
          ],
          "dropped": [],
          "notes": []
        }
        """;

    /// <summary>obs [a, b, c] → [a, x, b, c], two hidden units: fc1.weight's input axis gains a zero column.</summary>
    private static SurgeryPlan GoldenPlan() =>
        MakePlan(Mlp(ParseSchema(Yaml(1, "[a, b, c]"), 1), hidden: 2), Mlp(ParseSchema(Yaml(2, "[a, x, b, c]"), 2), hidden: 2));

    public static TheoryData<string> PlanNames { get; } =
    [
        "golden",
        "features added, removed and renamed",
        "categorical values added, removed and reordered",
        "new head rows with a new-output bias",
        "head row removed",
        "widened lstm with new head rows",
        "new parameter without source",
        "module rename and unit map",
        "openai five v1 to v2",
        "openai five new group",
        "hand-made corner cases",
    ];

    /// <summary>A fresh plan (fresh traces) for each name of <see cref="PlanNames"/>.</summary>
    private static SurgeryPlan BuildPlan(string name)
    {
        switch (name)
        {
            case "golden":
                return GoldenPlan();
            case "features added, removed and renamed":
                return MakePlan(
                    Mlp(ParseSchema(Yaml(1, "[a, hp, c, {name: pos, width: 2}, d]"), 1)),
                    Mlp(ParseSchema(Yaml(2, "[a, x, max_health, {name: pos, width: 3}, c]", renames: "  hp: max_health\n"), 2)));
            case "categorical values added, removed and reordered":
                return MakePlan(
                    Mlp(ParseSchema(Yaml(1, "[a]", heroes: "[axe, bane, crystal_maiden]"), 1)),
                    Mlp(ParseSchema(Yaml(2, "[a]", heroes: "[crystal_maiden, axe, drow]"), 2)));
            case "new head rows with a new-output bias":
                return MakePlan(
                    Mlp(ParseSchema(Yaml(1, "[a, b]"), 1)),
                    Mlp(ParseSchema(Yaml(2, "[a, b]", actions: "[noop, jump, move, attack]"), 2)),
                    PlanOptions.Default with { NewOutputBias = -20 });
            case "head row removed":
                return MakePlan(
                    Mlp(ParseSchema(Yaml(1, "[a, b]"), 1)),
                    Mlp(ParseSchema(Yaml(2, "[a, b]", actions: "[noop, attack]"), 2)));
            case "widened lstm with new head rows":
                return MakePlan(
                    Recurrent(ParseSchema(Yaml(1, "[a, b]"), 1), core: 3, hidden: 2),
                    Recurrent(ParseSchema(Yaml(2, "[a, b, c]", actions: "[noop, jump, move, attack]"), 2), core: 5, hidden: 3),
                    PlanOptions.Default with { NewOutputBias = -1e-5 });
            case "new parameter without source":
                return MakePlan(
                    Mlp(ParseSchema(Yaml(1, "[a, b]"), 1)),
                    Mlp(ParseSchema(Yaml(2, "[a, b]", extra: "[e1, e2, e3]"), 2)));
            case "module rename and unit map":
                {
                    var schema = ParseSchema(Yaml(1, "[a, b]"), 1);
                    var b = new GraphBuilder("Policy");
                    var obs = b.FeatureInput("obs", Dim.Batch, 2);
                    b.Output("logits", b.Linear("head", b.Relu(b.Linear("encoder", obs, 4)), 3));
                    var options = PlanOptions.Default with
                    {
                        ModuleRenames = new[] { new ModuleRename("fc1", "encoder") },
                        UnitMaps = new[] { new UnitMap("encoder", new long[] { 5, 0, 2, -1 }) },
                    };
                    return MakePlan(Mlp(schema, hidden: 6), ModelSide.Trace(b.Build(), schema), options);
                }

            case "openai five v1 to v2":
                {
                    var (g1, s1) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Small, 1);
                    var (g2, s2) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Small, 2);
                    return SurgeryDiffer.Diff(ModelSide.Trace(g1, s1), ModelSide.Trace(g2, s2));
                }

            case "openai five new group":
                {
                    var (g1, s1) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Small, 1);
                    var (g2, s2) = OpenAiFiveGraphs.BuildWithNewGroup(OpenAiFiveGraphs.Small);
                    return SurgeryDiffer.Diff(ModelSide.Trace(g1, s1), ModelSide.Trace(g2, s2));
                }

            case "hand-made corner cases":
                return HandMadePlan();
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "no such plan");
        }
    }

    /// <summary>
    /// What the differ rarely makes: rank-0 and empty tensors, buffers, kernel and elementwise axes, every init
    /// kind, awkward doubles, a negative-zero bias, and strings that need escaping.
    /// </summary>
    private static SurgeryPlan HandMadePlan()
    {
        static AxisMap Axis(AxisRole role, long length, long sourceLength, InitRule unmapped, params AxisSegment[] segments) =>
            new(role, length, sourceLength, segments, unmapped);

        var tensors = new[]
        {
            new TensorPlan(
                "conv.weight", new long[] { 2, 1, 3 }, "float32", false, "conv.weight", new long[] { 2, 1, 3 },
                new[]
                {
                    Axis(AxisRole.Output, 2, 2, InitRule.Uniform(double.Epsilon), new AxisSegment(0, 2, 0)),
                    Axis(AxisRole.Input, 1, 1, InitRule.Constant(1.0), new AxisSegment(0, 1, 0)),
                    Axis(AxisRole.Kernel, 3, 3, InitRule.Normal(1e-5), new AxisSegment(0, 3, 0)),
                },
                new[] { 1, 2, 0 },
                InitRule.Uniform(0.5773502691896258)),
            new TensorPlan(
                "norm.weight", new long[] { 3 }, "float32", false, "ln.weight", new long[] { 2 },
                new[] { Axis(AxisRole.Elementwise, 3, 2, InitRule.Ones, new AxisSegment(0, 1, 1), new AxisSegment(1, 1, -1), new AxisSegment(2, 1, 0)) },
                new[] { 0 },
                InitRule.Ones),
            new TensorPlan(
                "norm.running_mean", new long[] { 3 }, "float32", true, "ln.running_mean", new long[] { 2 },
                new[] { Axis(AxisRole.Elementwise, 3, 2, InitRule.Zeros, new AxisSegment(0, 2, 0), new AxisSegment(2, 1, -1)) },
                new[] { 0 },
                InitRule.Zeros),
            new TensorPlan("norm.num_batches_tracked", EquatableArray<long>.Empty, "int64", true, "ln.num_batches_tracked", EquatableArray<long>.Empty, EquatableArray<AxisMap>.Empty, EquatableArray<int>.Empty, InitRule.Zeros),
            new TensorPlan("scale", EquatableArray<long>.Empty, "float64", false, "scale", EquatableArray<long>.Empty, EquatableArray<AxisMap>.Empty, EquatableArray<int>.Empty, InitRule.Constant(1e300)),
            new TensorPlan(
                "empty.weight", new long[] { 0, 4 }, "float32", false, null, EquatableArray<long>.Empty,
                new[]
                {
                    Axis(AxisRole.Output, 0, 0, InitRule.Normal(0.1)),
                    Axis(AxisRole.Input, 4, 0, InitRule.Constant(123456789012345680), new AxisSegment(0, 4, -1)),
                },
                new[] { 1, 0 },
                InitRule.Normal(0.1)),
        };
        var parameters = tensors.Where(t => !t.IsBuffer).ToList();
        var totals = new PlanTotals(parameters.Sum(t => t.CopiedElements), parameters.Sum(t => t.TotalElements), 12);
        var dropped = new[]
        {
            new DroppedItem(DroppedKind.Units, "fc1", new[] { new LostElements("fc1.bias", 2), new LostElements("fc1.weight", 6) }),
            new DroppedItem(DroppedKind.Parameter, "old \"quoted\" parameter", new[] { new LostElements("old \"quoted\" parameter", 0) }),
            new DroppedItem(DroppedKind.CategoricalValue, "hero_id=naga_siren", EquatableArray<LostElements>.Empty),
        };
        var options = new PlanOptions
        {
            NewOutputBias = -0.0,
            ModuleRenames = new[] { new ModuleRename("ln", "norm"), new ModuleRename("a/b", "c\\d") },
            UnitMaps = new[] { new UnitMap("fc1", new long[] { 1, 0, -1 }), new UnitMap("empty", EquatableArray<long>.Empty) },
        };
        var notes = new[] { "a note with \"quotes\", a tab\t, a newline\n, 'apostrophes', ±σ, <html> & \u0001", string.Empty };
        return new SurgeryPlan(new ModelVersion("Hand \"made\"", 0), new ModelVersion("Hand", -1), options, tensors, totals, dropped, notes);
    }

    // ---------------------------------------------------------------- round trip and determinism

    [Theory]
    [MemberData(nameof(PlanNames))]
    public void Round_trip_gives_an_equal_plan_and_identical_bytes(string name)
    {
        var plan = BuildPlan(name);
        var json = PlanJson.Write(plan);
        var read = PlanJson.Read(json, File);
        Assert.Equal(plan, read);
        Assert.Equal(json, PlanJson.Write(read));
        Assert.Equal(PlanJson.WriteUtf8(plan), PlanJson.WriteUtf8(read));
        Assert.Equal(plan, PlanJson.ReadUtf8(PlanJson.WriteUtf8(plan), File));
    }

    [Theory]
    [MemberData(nameof(PlanNames))]
    public void Diffing_the_same_models_twice_gives_identical_bytes(string name)
    {
        var first = PlanJson.WriteUtf8(BuildPlan(name));
        var second = PlanJson.WriteUtf8(BuildPlan(name));
        Assert.Equal(first, second);
        Assert.Equal(Encoding.UTF8.GetBytes(PlanJson.Write(BuildPlan(name))), first);
    }

    [Theory]
    [MemberData(nameof(PlanNames))]
    public void Output_is_indented_with_two_spaces_lf_and_a_final_newline(string name)
    {
        var bytes = PlanJson.WriteUtf8(BuildPlan(name));
        Assert.DoesNotContain((byte)'\r', bytes);
        Assert.DoesNotContain((byte)'\t', bytes);
        Assert.Equal((byte)'\n', bytes[^1]);
        Assert.NotEqual((byte)'\n', bytes[^2]);
        Assert.False(bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF, "no byte order mark");
        var lines = Encoding.UTF8.GetString(bytes).Split('\n');
        Assert.All(lines, line => Assert.Equal(0, (line.Length - line.TrimStart(' ').Length) % 2));
    }

    [Fact]
    public void Golden_plan_is_written_exactly()
    {
        var json = PlanJson.Write(GoldenPlan());
        Assert.Equal(Golden + "\n", json);
        Assert.Equal(GoldenPlan(), PlanJson.Read(Golden, File));
    }

    [Fact]
    public void Plans_the_tests_rely_on_cover_what_they_claim()
    {
        Assert.Contains(BuildPlan("features added, removed and renamed").Dropped, d => d.Kind == DroppedKind.Feature && d.Name == "obs.d");
        Assert.Contains(BuildPlan("categorical values added, removed and reordered").Dropped, d => d.Kind == DroppedKind.CategoricalValue);
        Assert.Contains(BuildPlan("head row removed").Dropped, d => d.Kind == DroppedKind.OutputFeature);
        Assert.Contains(BuildPlan("module rename and unit map").Dropped, d => d.Kind == DroppedKind.Units);
        var lstm = BuildPlan("widened lstm with new head rows");
        Assert.Equal([0L, 1, -1, 2, 3, -1, 4, 5, -1, 6, 7, -1], Map(lstm, "lstm.weight_hh_l0", 0));
        Assert.Equal(InitRule.Constant(-1e-5), lstm.FindTensor("head.bias")!.Axes[0].Unmapped);
        var added = BuildPlan("new parameter without source");
        Assert.Null(added.FindTensor("extra_encoder.weight")!.Source);
        Assert.NotEmpty(added.Notes);
    }

    [Fact]
    public void Widened_lstm_segments_follow_the_gate_blocks()
    {
        var json = PlanJson.Write(BuildPlan("widened lstm with new head rows"));
        Assert.Contains("\"segments\": [[0, 2, 0], [2, 1, -1], [3, 2, 2], [5, 1, -1], [6, 2, 4], [8, 1, -1], [9, 2, 6], [11, 1, -1]]", json, StringComparison.Ordinal);
        Assert.Contains("\"newOutputBias\": -1E-05,", json, StringComparison.Ordinal);
        Assert.Contains("\"unmapped\": {\"kind\": \"constant\", \"value\": -1E-05},", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_and_dropped_items_are_written_in_full()
    {
        var json = PlanJson.Write(BuildPlan("module rename and unit map"));
        Assert.Contains("""
                "moduleRenames": [
                  {
                    "from": "fc1",
                    "to": "encoder"
                  }
                ],
                "unitMaps": [
                  {
                    "space": "encoder",
                    "sources": [5, 0, 2, -1]
                  }
                ]
            """.Replace("\r", string.Empty, StringComparison.Ordinal), json, StringComparison.Ordinal);
        Assert.Contains("""
                {
                  "kind": "units",
                  "name": "fc1",
            """.Replace("\r", string.Empty, StringComparison.Ordinal), json, StringComparison.Ordinal);
        Assert.Contains("\"source\": \"fc1.weight\",", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Doubles_use_round_trip_text_and_read_back_bit_for_bit()
    {
        var plan = HandMadePlan();
        var json = PlanJson.Write(plan);
        Assert.Contains("\"unmapped\": {\"kind\": \"constant\", \"value\": 1},", json, StringComparison.Ordinal);
        Assert.Contains("{\"kind\": \"uniform\", \"value\": 5E-324}", json, StringComparison.Ordinal);
        Assert.Contains("{\"kind\": \"normal\", \"value\": 1E-05}", json, StringComparison.Ordinal);
        Assert.Contains("{\"kind\": \"constant\", \"value\": 1E+300}", json, StringComparison.Ordinal);
        Assert.Contains("{\"kind\": \"constant\", \"value\": 1.2345678901234568E+17}", json, StringComparison.Ordinal);
        Assert.Contains("\"init\": {\"kind\": \"uniform\", \"value\": 0.5773502691896258},", json, StringComparison.Ordinal);
        Assert.Contains("\"newOutputBias\": -0,", json, StringComparison.Ordinal);
        Assert.Contains("\"init\": {\"kind\": \"ones\"},", json, StringComparison.Ordinal);

        var read = PlanJson.Read(json, File);
        double[] Doubles(SurgeryPlan p) =>
            p.Tensors.SelectMany(t => t.Axes.Select(a => a.Unmapped.Value).Append(t.Init.Value)).Append(p.Options.NewOutputBias).Append(p.Totals.ShareOfTarget).ToArray();
        Assert.Equal(Doubles(plan).Select(BitConverter.DoubleToInt64Bits), Doubles(read).Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void Strings_are_escaped_minimally_and_read_back()
    {
        var json = PlanJson.Write(HandMadePlan());
        Assert.Contains("\"a note with \\\"quotes\\\", a tab\\t, a newline\\n, 'apostrophes', ±σ, <html> & \\u0001\"", json, StringComparison.Ordinal);
        Assert.Contains("\"to\": \"c\\\\d\"", json, StringComparison.Ordinal);
        Assert.Contains("\"shape\": [],", json, StringComparison.Ordinal);
        Assert.Contains("\"segments\": []", json, StringComparison.Ordinal);
        Assert.Contains("\"source\": null,", json, StringComparison.Ordinal);
        Assert.Contains("'extra_encoder.weight' is new: initialised with uniform(-0.5773502691896258, 0.5773502691896258)", PlanJson.Write(BuildPlan("new parameter without source")), StringComparison.Ordinal);
    }

    [Fact]
    public void Shares_are_recomputed_and_need_not_match_exactly()
    {
        var plan = GoldenPlan();
        var json = PlanJson.Write(plan)
            .Replace("\"shareOfTarget\": 0.8947368421052632", "\"shareOfTarget\": 0.89473684210526", StringComparison.Ordinal)
            .Replace("\"shareOfSource\": 1", "\"shareOfSource\": 1.0000000000", StringComparison.Ordinal);
        var read = PlanJson.Read(json, File);
        Assert.Equal(plan, read);
        Assert.Equal(PlanJson.Write(plan), PlanJson.Write(read));
    }

    [Fact]
    public void Whitespace_and_property_order_do_not_matter_when_reading()
    {
        var plan = BuildPlan("openai five v1 to v2");
        var root = JsonNode.Parse(PlanJson.Write(plan))!.AsObject();
        var reordered = new JsonObject();
        foreach (var name in root.Select(p => p.Key).Reverse().ToList())
        {
            var value = root[name];
            root.Remove(name);
            reordered[name] = value;
        }

        Assert.Equal(plan, PlanJson.Read(reordered.ToJsonString(), File));
    }

    // ---------------------------------------------------------------- writing refuses what reading rejects

    [Fact]
    public void Write_refuses_an_inconsistent_plan()
    {
        var plan = GoldenPlan();
        var e = Assert.Throws<ArgumentException>(() => PlanJson.Write(plan with { Totals = plan.Totals with { CopiedElements = 1 } }));
        Assert.Contains("$.totals.copied", e.Message, StringComparison.Ordinal);

        var fc1 = plan.Tensors[0];
        var gap = fc1.Axes[1] with { Segments = new[] { new AxisSegment(0, 1, 0), new AxisSegment(2, 2, 1) } };
        var broken = plan with { Tensors = plan.Tensors.Select(t => t == fc1 ? t with { Axes = new[] { t.Axes[0], gap } } : t).ToEquatableArray() };
        e = Assert.Throws<ArgumentException>(() => PlanJson.Write(broken));
        Assert.Contains("$.tensors[0].axes[1].segments[1]: tensor 'fc1.weight'", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<ArgumentException>(() => PlanJson.Write(plan with { Options = plan.Options with { NewOutputBias = double.NaN } }));
        Assert.Contains("$.options.newOutputBias", e.Message, StringComparison.Ordinal);

        var stray = plan with { Tensors = plan.Tensors.Select(t => t == fc1 ? t with { Init = new InitRule(InitKind.Zeros, 2) } : t).ToEquatableArray() };
        e = Assert.Throws<ArgumentException>(() => PlanJson.Write(stray));
        Assert.Contains("$.tensors[0].init: tensor 'fc1.weight': init rule 'zeros' carries the value 2", e.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentNullException>(() => PlanJson.Write(null!));
        Assert.Throws<ArgumentNullException>(() => PlanJson.Read(null!));
    }

    // ---------------------------------------------------------------- rejections

    public static TheoryData<string> Rejections => new(RejectionCases.Keys);

    private static readonly System.Collections.Generic.Dictionary<string, (Action<JsonObject> Edit, string[] Expected)> RejectionCases = new()
    {
        ["bad format"] = (r => r["format"] = "neuralsurgery.graph", ["$.format: unknown format 'neuralsurgery.graph'; expected 'neuralsurgery.plan'"]),
        ["bad version"] = (r => r["version"] = 2, ["$.version: version 2 is not supported; expected 1"]),
        ["version as string"] = (r => r["version"] = "1", ["$.version: expected a 64-bit integer, found the string \"1\""]),
        ["unknown top-level property"] = (r => r["comment"] = "hi", ["$.comment: unknown property 'comment'; expected 'format', 'version', 'from'"]),
        ["missing top-level property"] = (r => r.Remove("totals"), ["$: missing required property 'totals'"]),
        ["model version as string"] = (r => r["from"]!["version"] = "1", ["$.from.version: expected a 32-bit integer"]),
        ["bias not a number"] = (r => r["options"]!["newOutputBias"] = "x", ["$.options.newOutputBias: expected a finite number, found the string \"x\""]),
        ["unit map source below -1"] = (r => r["options"]!["unitMaps"] = new JsonArray(new JsonObject { ["space"] = "fc1", ["sources"] = new JsonArray(0, -2) }), ["$.options.unitMaps[0].sources[1]: unit map 'fc1' has source -2; expected an old unit index or -1"]),
        ["unit map source twice"] = (r => r["options"]!["unitMaps"] = new JsonArray(new JsonObject { ["space"] = "fc1", ["sources"] = new JsonArray(1, 1) }), ["$.options.unitMaps[0].sources[1]: unit map 'fc1' takes old unit 1 twice"]),
        ["rename target twice"] = (r => r["options"]!["moduleRenames"] = new JsonArray(new JsonObject { ["from"] = "a", ["to"] = "c" }, new JsonObject { ["from"] = "b", ["to"] = "c" }), ["$.options.moduleRenames[1].to: module 'c' is the target of more than one rename"]),
        ["unknown tensor property"] = (r => T(r, 1)["grad"] = true, ["$.tensors[1].grad: tensor 'fc1.bias': unknown property 'grad'"]),
        ["missing tensor property"] = (r => T(r, 2).Remove("init"), ["$.tensors[2]: tensor 'head.weight': missing required property 'init'"]),
        ["tensor without a name"] = (r => T(r, 2).Remove("name"), ["$.tensors[2]: missing required property 'name'"]),
        ["shape as string"] = (r => T(r, 0)["shape"] = "[2, 4]", ["$.tensors[0].shape: tensor 'fc1.weight': expected an array, found the string \"[2, 4]\""]),
        ["negative dimension"] = (r => T(r, 3)["shape"] = new JsonArray(-3), ["$.tensors[3].shape[0]: tensor 'head.bias': dimension -3; expected a non-negative size"]),
        ["buffer as string"] = (r => T(r, 0)["buffer"] = "no", ["$.tensors[0].buffer: tensor 'fc1.weight': expected true or false, found the string \"no\""]),
        ["source as number"] = (r => T(r, 0)["source"] = 1, ["$.tensors[0].source: tensor 'fc1.weight': expected a string, found the number 1"]),
        ["fractional axis length"] = (r => A(r, 0, 0)["length"] = 2.5, ["$.tensors[0].axes[0].length: tensor 'fc1.weight': expected a 64-bit integer, found the number 2.5"]),
        ["unknown axis role"] = (r => A(r, 0, 1)["role"] = "hidden", ["$.tensors[0].axes[1].role: tensor 'fc1.weight': unknown axis role 'hidden'; expected 'output', 'input', 'elementwise', 'kernel'"]),
        ["unknown axis property"] = (r => A(r, 0, 1)["map"] = new JsonArray(), ["$.tensors[0].axes[1].map: tensor 'fc1.weight': unknown property 'map'"]),
        ["unknown init kind"] = (r => T(r, 0)["init"] = new JsonObject { ["kind"] = "xavier" }, ["$.tensors[0].init.kind: tensor 'fc1.weight': unknown init kind 'xavier'; expected 'zeros', 'ones', 'constant', 'uniform', 'normal'"]),
        ["zeros with a value"] = (r => A(r, 0, 1)["unmapped"] = new JsonObject { ["kind"] = "zeros", ["value"] = 0 }, ["$.tensors[0].axes[1].unmapped.value: tensor 'fc1.weight': unknown property 'value'; expected 'kind'"]),
        ["uniform without a value"] = (r => T(r, 1)["init"] = new JsonObject { ["kind"] = "uniform" }, ["$.tensors[1].init: tensor 'fc1.bias': missing required property 'value'"]),
        ["negative uniform bound"] = (r => T(r, 1)["init"] = new JsonObject { ["kind"] = "uniform", ["value"] = -0.5 }, ["$.tensors[1].init.value: tensor 'fc1.bias': uniform bound is -0.5; expected a non-negative number"]),
        ["init as string"] = (r => T(r, 1)["init"] = "zeros", ["$.tensors[1].init: tensor 'fc1.bias': expected an object, found the string \"zeros\""]),
        ["segment gap"] = (r => Seg(r, [0, 1, 0], [2, 2, 1]), ["$.tensors[0].axes[1].segments[1]: tensor 'fc1.weight': segment [2, 2, 1] of axis 1 starts at 2; expected 1, so that the segments tile the axis [0, 4)"]),
        ["segment overlap"] = (r => Seg(r, [0, 2, 0], [1, 1, -1], [2, 2, 1]), ["$.tensors[0].axes[1].segments[1]: tensor 'fc1.weight': segment [1, 1, -1] of axis 1 starts at 1; expected 2"]),
        ["segments fall short"] = (r => Seg(r, [0, 1, 0], [1, 1, -1], [2, 1, 1]), ["$.tensors[0].axes[1].segments: tensor 'fc1.weight': the segments of axis 1 cover [0, 3); expected them to tile the whole axis [0, 4)"]),
        ["no segments"] = (r => Seg(r), ["$.tensors[0].axes[1].segments: tensor 'fc1.weight': the segments of axis 1 cover [0, 0)"]),
        ["segment past the axis"] = (r => Seg(r, [0, 1, 0], [1, 1, -1], [2, 3, 1]), ["$.tensors[0].axes[1].segments[2]: tensor 'fc1.weight': segment [2, 3, 1] of axis 1 ends at 5, past the axis length 4"]),
        ["segment outside the source axis"] = (r => Seg(r, [0, 1, 0], [1, 1, -1], [2, 2, 2]), ["$.tensors[0].axes[1].segments[2]: tensor 'fc1.weight': segment [2, 2, 2] of axis 1 copies source indices [2, 4), outside the source axis of length 3"]),
        ["empty segment"] = (r => Seg(r, [0, 0, 0], [0, 1, 0], [1, 1, -1], [2, 2, 1]), ["$.tensors[0].axes[1].segments[0]: tensor 'fc1.weight': segment [0, 0, 0] of axis 1 has length 0; expected at least 1"]),
        ["source start below -1"] = (r => Seg(r, [0, 1, 0], [1, 1, -2], [2, 2, 1]), ["$.tensors[0].axes[1].segments[1]: tensor 'fc1.weight': segment [1, 1, -2] of axis 1 has source start -2; expected a source index or -1"]),
        ["segment of two numbers"] = (r => Seg(r, [0, 1], [1, 3, -1]), ["$.tensors[0].axes[1].segments[0]: tensor 'fc1.weight': expected a segment [start, length, sourceStart], found an array of 2 items"]),
        ["segment as object"] = (r => A(r, 0, 1)["segments"] = new JsonArray(new JsonObject { ["start"] = 0 }), ["$.tensors[0].axes[1].segments[0]: tensor 'fc1.weight': expected an array, found an object"]),
        ["init order with a repeat"] = (r => T(r, 0)["initOrder"] = new JsonArray(1, 1), ["$.tensors[0].initOrder: tensor 'fc1.weight': [1, 1] is not a permutation of the axes 0..1"]),
        ["init order out of range"] = (r => T(r, 0)["initOrder"] = new JsonArray(1, 2), ["$.tensors[0].initOrder: tensor 'fc1.weight': [1, 2] is not a permutation of the axes 0..1"]),
        ["init order too short"] = (r => T(r, 0)["initOrder"] = new JsonArray(1), ["$.tensors[0].initOrder: tensor 'fc1.weight': [1] is not a permutation"]),
        ["source shape of another rank"] = (r => T(r, 0)["sourceShape"] = new JsonArray(2, 3, 1), ["$.tensors[0].sourceShape: tensor 'fc1.weight': source shape [2, 3, 1] has rank 3 but shape [2, 4] has rank 2; expected equal ranks"]),
        ["too few axes"] = (r => ((JsonArray)T(r, 0)["axes"]!).RemoveAt(1), ["$.tensors[0].axes: tensor 'fc1.weight': 1 axes for shape [2, 4]; expected one per dimension (2)"]),
        ["axis length differs from shape"] = (r => A(r, 0, 0)["length"] = 3, ["$.tensors[0].axes[0].length: tensor 'fc1.weight': axis 0 has length 3 but the shape [2, 4] gives 2"]),
        ["source length differs from source shape"] = (r => A(r, 0, 1)["sourceLength"] = 4, ["$.tensors[0].axes[1].sourceLength: tensor 'fc1.weight': axis 1 has source length 4 but the source shape [2, 3] gives 3"]),
        ["no source but a source shape"] = (r => T(r, 0)["source"] = null, ["$.tensors[0].sourceShape: tensor 'fc1.weight': has no source, so expected an empty source shape, found [2, 3]"]),
        ["copied disagrees"] = (r => T(r, 0)["copied"] = 8, ["$.tensors[0].copied: tensor 'fc1.weight': copied is 8 but its axes map 6 elements (2 x 3)"]),
        ["total disagrees"] = (r => T(r, 0)["total"] = 9, ["$.tensors[0].total: tensor 'fc1.weight': total is 9 but its shape [2, 4] has 8 elements"]),
        ["duplicate tensor"] = (r => T(r, 2)["name"] = "fc1.bias", ["$.tensors[2].name: tensor 'fc1.bias' is listed twice (first as tensor 1)"]),
        ["source with two shapes"] = (r => T(r, 3)["source"] = "head.weight", ["$.tensors[3].sourceShape: tensor 'head.bias': source 'head.weight' has shape [3] here but [3, 2] in tensor 'head.weight'"]),
        ["totals copied disagree"] = (r => r["totals"]!["copied"] = 18, ["$.totals.copied: copied is 18 but the non-buffer tensors copy 17 elements"]),
        ["totals target disagree"] = (r => r["totals"]!["target"] = 20, ["$.totals.target: target is 20 but the non-buffer tensors have 19 elements"]),
        ["totals source too small"] = (r => r["totals"]!["source"] = 10, ["$.totals.source: source is 10 but the non-buffer tensors copy from source tensors with 17 elements; expected at least that many"]),
        ["share of target off"] = (r => r["totals"]!["shareOfTarget"] = 0.9, ["$.totals.shareOfTarget: share is 0.9 but copied / target is 0.8947368421052632"]),
        ["share of source missing"] = (r => r["totals"]!.AsObject().Remove("shareOfSource"), ["$.totals: missing required property 'shareOfSource'"]),
        ["dropped elements disagree"] = (r => r["dropped"] = new JsonArray(Dropped("feature", 5, 4)), ["$.dropped[0].elements: dropped feature 'obs.z': elements is 5 but its parameters lose 4"]),
        ["unknown dropped kind"] = (r => r["dropped"] = new JsonArray(Dropped("column", 4, 4)), ["$.dropped[0].kind: unknown dropped kind 'column'; expected 'feature', 'categorical_value', 'output_feature', 'units', 'parameter'"]),
        ["negative lost elements"] = (r => r["dropped"] = new JsonArray(Dropped("units", -4, -4)), ["$.dropped[0].parameters[0].elements: dropped units 'obs.z': parameter 'fc1.weight' loses -4 elements"]),
        ["note not a string"] = (r => r["notes"] = new JsonArray(1), ["$.notes[0]: expected a string, found the number 1"]),
        ["top level not an object"] = (r => r["tensors"] = new JsonArray(new JsonArray()), ["$.tensors[0]: expected an object, found an array"]),
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public void Read_rejects_with_file_path_tensor_and_expectation(string name)
    {
        var (edit, expected) = RejectionCases[name];
        var root = JsonNode.Parse(PlanJson.Write(GoldenPlan()))!.AsObject();
        edit(root);
        var json = root.ToJsonString();
        var e = Assert.Throws<JsonFormatException>(() => PlanJson.Read(json, File));
        Assert.StartsWith(File + ": $", e.Message, StringComparison.Ordinal);
        Assert.Equal(File, e.FilePath);
        Assert.NotNull(e.JsonPath);
        Assert.StartsWith(e.JsonPath + ": ", e.Message.Substring(File.Length + 2), StringComparison.Ordinal);
        foreach (var part in expected)
        {
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Duplicate_properties_are_rejected()
    {
        var json = Golden.Replace("\"dtype\": \"float32\",", "\"dtype\": \"float32\", \"dtype\": \"float16\",", StringComparison.Ordinal);
        var e = Assert.Throws<JsonFormatException>(() => PlanJson.Read(json, File));
        Assert.Equal(File + ": $.tensors[0].dtype: duplicate property 'dtype'", e.Message);
    }

    [Fact]
    public void Syntax_errors_report_line_and_byte()
    {
        var missingComma = Golden.Replace("\"version\": 1,\n  \"from\"", "\"version\": 1\n  \"from\"", StringComparison.Ordinal);
        Assert.NotEqual(Golden, missingComma);
        var e = Assert.Throws<JsonFormatException>(() => PlanJson.Read(missingComma, File));
        Assert.StartsWith(File + ": line 4, byte 3: invalid JSON", e.Message, StringComparison.Ordinal);
        Assert.Equal(4, e.LineNumber);
        Assert.Equal(3, e.BytePositionInLine);
        Assert.Null(e.JsonPath);

        var truncated = Assert.Throws<JsonFormatException>(() => PlanJson.Read(Golden.Substring(0, 300)));
        Assert.StartsWith("line ", truncated.Message, StringComparison.Ordinal);
        Assert.Throws<JsonFormatException>(() => PlanJson.Read(string.Empty));
        Assert.Throws<JsonFormatException>(() => PlanJson.Read(Golden + "{}"));
        Assert.Throws<JsonFormatException>(() => PlanJson.ReadUtf8(Encoding.UTF8.GetBytes("[1,"), File));
        var notObject = Assert.Throws<JsonFormatException>(() => PlanJson.Read("[]", File));
        Assert.Equal(File + ": $: expected an object, found an array", notObject.Message);
    }

    [Theory]
    [InlineData("hand-made corner cases")]
    [InlineData("module rename and unit map")]
    public void Mutated_documents_either_read_and_round_trip_or_fail_with_a_json_format_exception(string name)
    {
        var json = PlanJson.Write(BuildPlan(name));
        var tokens = System.Text.RegularExpressions.Regex.Matches(json, "\"[^\"\n]*\"|(?<=[:\\[ ])-?[0-9][0-9.E+-]*");
        var read = 0;
        foreach (System.Text.RegularExpressions.Match token in tokens)
        {
            var replacements = token.Value.StartsWith('"')
                ? new[] { "\"\"", "\"fc1.weight\"", "\"zeros\"", "null", "[]" }
                : new[] { "0", "-1", "2", "0.5", "9223372036854775807", "1E+400" };
            foreach (var replacement in replacements)
            {
                var mutated = json.Substring(0, token.Index) + replacement + json.Substring(token.Index + token.Length);
                try
                {
                    var plan = PlanJson.Read(mutated, "fuzz.json");
                    Assert.Equal(plan, PlanJson.Read(PlanJson.Write(plan)));
                    read++;
                }
                catch (JsonFormatException e)
                {
                    Assert.StartsWith("fuzz.json: ", e.Message, StringComparison.Ordinal);
                }
            }
        }

        Assert.True(tokens.Count > 100);
        Assert.True(read > 0);
    }

    [Fact]
    public void Plans_name_the_fingerprints_of_their_versions_and_older_plans_without_them_still_read()
    {
        var plan = GoldenPlan();
        Assert.Equal(plan.From.Fingerprint, ModelSnapshot.FingerprintOf(Mlp(ParseSchema(Yaml(1, "[a, b, c]"), 1), hidden: 2).Graph, ParseSchema(Yaml(1, "[a, b, c]"), 1)));
        Assert.NotEqual(plan.From.Fingerprint, plan.To.Fingerprint);

        var withoutFingerprints = System.Text.RegularExpressions.Regex.Replace(Golden, ",\\s*\"fingerprint\": \"[0-9a-f]+\"", string.Empty);
        Assert.DoesNotContain("fingerprint", withoutFingerprints, StringComparison.Ordinal);
        var old = PlanJson.Read(withoutFingerprints, File);
        Assert.Null(old.From.Fingerprint);
        Assert.Equal(plan with { From = plan.From with { Fingerprint = null }, To = plan.To with { Fingerprint = null } }, old);
        Assert.True(old.To.SameVersion(plan.To));
        Assert.False(plan.From.SameVersion(plan.From with { Fingerprint = plan.To.Fingerprint }));

        var bad = Assert.Throws<JsonFormatException>(() => PlanJson.Read(Golden.Replace("\"de4f2a41", "\"DE4F2A41", StringComparison.Ordinal), File));
        Assert.Contains("$.from.fingerprint", bad.Message, StringComparison.Ordinal);
        Assert.Contains("expected 64 lowercase hex digits", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_byte_order_mark_is_skipped()
    {
        var plan = GoldenPlan();
        Assert.Equal(plan, PlanJson.ReadUtf8(new byte[] { 0xEF, 0xBB, 0xBF }.Concat(PlanJson.WriteUtf8(plan)).ToArray()));
        Assert.Equal(plan, PlanJson.Read("\uFEFF" + Golden));
    }

    [Fact]
    public void Invalid_text_encodings_are_format_errors()
    {
        var surrogate = Assert.Throws<JsonFormatException>(() => PlanJson.Read(Golden.Replace("\"Policy\"", "\"P\ud800\"", StringComparison.Ordinal), File));
        Assert.StartsWith(File + ": invalid text", surrogate.Message, StringComparison.Ordinal);

        var escaped = Assert.Throws<JsonFormatException>(() => PlanJson.Read(Golden.Replace("\"float32\"", "\"f\\ud800\"", StringComparison.Ordinal), File));
        Assert.StartsWith(File + ": $.tensors[0].dtype: tensor 'fc1.weight': ", escaped.Message, StringComparison.Ordinal);

        var utf8 = Encoding.UTF8.GetBytes(Golden.Replace("\"Policy\"", "\"P@licy\"", StringComparison.Ordinal));
        utf8[Array.IndexOf(utf8, (byte)'@')] = 0xFF;
        Assert.Throws<JsonFormatException>(() => PlanJson.ReadUtf8(utf8, File));
    }

    private static JsonObject T(JsonObject root, int tensor) => root["tensors"]![tensor]!.AsObject();

    private static JsonObject A(JsonObject root, int tensor, int axis) => T(root, tensor)["axes"]![axis]!.AsObject();

    /// <summary>Replaces the segments of fc1.weight's input axis (golden: [[0, 1, 0], [1, 1, -1], [2, 2, 1]]).</summary>
    private static void Seg(JsonObject root, params long[][] segments) =>
        A(root, 0, 1)["segments"] = new JsonArray(segments.Select(s => (JsonNode)new JsonArray(s.Select(v => (JsonNode)JsonValue.Create(v)).ToArray())).ToArray());

    private static JsonObject Dropped(string kind, long elements, long lost) => new()
    {
        ["kind"] = kind,
        ["name"] = "obs.z",
        ["elements"] = elements,
        ["parameters"] = new JsonArray(new JsonObject { ["parameter"] = "fc1.weight", ["elements"] = lost }),
    };
}
