using System;
using System.Linq;
using System.Text;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using static NeuralSurgery.Tests.Graph.TestGraphs;

namespace NeuralSurgery.Tests.Graph;

public class GraphJsonTests
{
    private const string File = "models/mlp.graph.json";

    /// <summary>The checked-in JSON of <see cref="TestGraphs.Mlp"/>; a change here is a format change.</summary>
    private const string MlpGolden = """
        {
          "format": "neuralsurgery.graph",
          "version": 1,
          "name": "Mlp",
          "inputs": [
            {
              "name": "x",
              "shape": ["B", "4"],
              "role": "features",
              "schemaInput": "x"
            }
          ],
          "modules": [
            {
              "path": "fc1",
              "spec": {
                "kind": "Linear",
                "inFeatures": 4,
                "outFeatures": 8,
                "bias": true
              }
            },
            {
              "path": "fc2",
              "spec": {
                "kind": "Linear",
                "inFeatures": 8,
                "outFeatures": 2,
                "bias": true
              }
            }
          ],
          "nodes": [
            {
              "id": "fc1",
              "op": {
                "kind": "call",
                "module": "fc1"
              },
              "operands": ["x"],
              "outputShapes": [["B", "8"]]
            },
            {
              "id": "relu",
              "op": {
                "kind": "activation",
                "activation": "relu"
              },
              "operands": ["fc1"],
              "outputShapes": [["B", "8"]]
            },
            {
              "id": "fc2",
              "op": {
                "kind": "call",
                "module": "fc2"
              },
              "operands": ["relu"],
              "outputShapes": [["B", "2"]]
            }
          ],
          "outputs": [
            {
              "name": "y",
              "value": "fc2",
              "schemaOutput": "y"
            }
          ],
          "parameters": [
            {
              "name": "fc1.weight",
              "module": "fc1",
              "shape": ["8", "4"],
              "role": "weight",
              "buffer": false,
              "dtype": "float32"
            },
            {
              "name": "fc1.bias",
              "module": "fc1",
              "shape": ["8"],
              "role": "bias",
              "buffer": false,
              "dtype": "float32"
            },
            {
              "name": "fc2.weight",
              "module": "fc2",
              "shape": ["2", "8"],
              "role": "weight",
              "buffer": false,
              "dtype": "float32"
            },
            {
              "name": "fc2.bias",
              "module": "fc2",
              "shape": ["2"],
              "role": "bias",
              "buffer": false,
              "dtype": "float32"
            }
          ]
        }
        """;

    private static string Golden => MlpGolden.Replace("\r\n", "\n") + "\n";

    // ------------------------------------------------------------ round trips

    [Fact]
    public void Golden_json_of_a_two_layer_mlp()
    {
        Assert.Equal(Golden, GraphJson.Write(Mlp()));
        Assert.Equal(Mlp(), GraphJson.Read(Golden));
    }

    [Fact]
    public void The_everything_graph_uses_every_op_and_layer_kind()
    {
        var g = Everything();
        var assembly = typeof(NodeOp).Assembly;
        var opTypes = assembly.GetTypes().Where(t => !t.IsAbstract && typeof(NodeOp).IsAssignableFrom(t)).ToList();
        var specTypes = assembly.GetTypes().Where(t => !t.IsAbstract && typeof(LayerSpec).IsAssignableFrom(t)).ToList();
        Assert.Equal(22, opTypes.Count);
        Assert.Equal(12, specTypes.Count);
        Assert.Empty(opTypes.Except(g.Nodes.Select(n => n.Op.GetType())));
        Assert.Empty(specTypes.Except(g.Modules.Select(m => m.Spec.GetType())));

        var kinds = g.Nodes.Select(n => n.Op.Kind).ToHashSet();
        Assert.Subset(kinds, new[] { "softmax", "log_softmax", "add", "sub", "mul", "max", "mean", "sum" }.ToHashSet());
        var activations = g.Nodes.Select(n => n.Op).OfType<ActivationOp>().Select(a => a.Activation).ToHashSet();
        Assert.Equal(Enum.GetValues<ActivationKind>().Length, activations.Count);
        Assert.Equal(new[] { "LSTM", "GRU" }, g.Modules.Select(m => m.Spec).OfType<RecurrentSpec>().Select(r => r.Kind));
        Assert.Contains(g.Inputs, i => i.Role == InputRole.State);
        Assert.Contains(g.Inputs, i => i.Role == InputRole.Categorical);
        Assert.Contains(g.Outputs, o => o.SchemaOutput is null);
    }

    [Fact]
    public void Round_trip_of_every_op_and_layer_kind_is_equal_and_byte_identical()
    {
        var g = Everything();
        var json = GraphJson.Write(g);
        var read = GraphJson.Read(json, "everything.graph.json");
        Assert.Equal(g, read);
        Assert.Equal(g.GetHashCode(), read.GetHashCode());
        Assert.Equal(json, GraphJson.Write(read));

        var utf8 = GraphJson.WriteUtf8(g);
        Assert.Equal(Encoding.UTF8.GetBytes(json), utf8);
        Assert.Equal(g, GraphJson.ReadUtf8(utf8));
        Assert.Equal(utf8, GraphJson.WriteUtf8(GraphJson.ReadUtf8(utf8)));
    }

    [Fact]
    public void The_everything_json_spells_attributes_as_documented()
    {
        var json = GraphJson.Write(Everything());
        Assert.Contains("\"shape\": [\"B\", \"N\", \"4\"]", json, StringComparison.Ordinal);
        Assert.Contains("\"outputShapes\": [[\"B\", \"M+N\", \"4\"]]", json, StringComparison.Ordinal);
        Assert.Contains("\"outputShapes\": [[\"B\", \"4*N\"]]", json, StringComparison.Ordinal);
        Assert.Contains("\"target\": [\"B\", \"-1\"]", json, StringComparison.Ordinal);
        Assert.Contains("\"length\": \"N\"", json, StringComparison.Ordinal);
        Assert.Contains("\"operands\": [\"lstm\"]", json, StringComparison.Ordinal);
        Assert.Contains("\"value\": \"lstm:1\"", json, StringComparison.Ordinal);
        Assert.Contains("\"operands\": [\"emb\", \"h0\", \"c0\"]", json, StringComparison.Ordinal);
        Assert.Contains("\"schemaInput\": null", json, StringComparison.Ordinal);
        Assert.Contains("\"activation\": \"leaky_relu\"", json, StringComparison.Ordinal);
        Assert.Contains("\"kind\": \"log_softmax\"", json, StringComparison.Ordinal);
        Assert.Contains("\"eps\": 1E-05", json, StringComparison.Ordinal);
        Assert.Contains("\"momentum\": 0.1", json, StringComparison.Ordinal);
        Assert.Contains("\"p\": 0.1", json, StringComparison.Ordinal);
        Assert.Contains("\"normalizedShape\": [30]", json, StringComparison.Ordinal);
        Assert.Contains("\"role\": \"num_batches_tracked\"", json, StringComparison.Ordinal);
        Assert.Contains("\"dtype\": \"int64\"", json, StringComparison.Ordinal);
        Assert.Contains("\"shape\": []", json, StringComparison.Ordinal);
        Assert.Contains("\"role\": \"weight_ih\"", json, StringComparison.Ordinal);
    }

    /// <summary>Conv2d with per-axis attributes, BatchNorm2d with non-default ones, and all eight pooling kinds.</summary>
    private static ModelGraph Windows()
    {
        var b = new GraphBuilder("Windows");
        var x = b.FeatureInput("x", B, 4, 9, 8);
        var conv = b.Call(b.Module("conv", new Conv2dSpec(4, 6, 3, 2, StrideH: 2, PaddingH: 1, DilationW: 2, Groups: 2, Bias: false)), x)[0]; // [B, 6, 5, 6]
        var bn = b.Call(b.Module("bn", new BatchNorm2dSpec(6, Eps: 1e-3, Momentum: 0.25, Affine: false, TrackRunningStats: false)), conv)[0];
        b.Output("max2", b.Pool(bn, PoolKind.Max, [3, 2], stride: [2, 1], padding: [1, 1], dilation: [1, 2]));
        b.Output("avg2", b.Pool(bn, PoolKind.Avg, [2, 2], padding: [1, 0]));
        b.Output("amax2", b.AdaptivePool(bn, PoolKind.Max, 3, 4));
        b.Output("aavg2", b.AdaptivePool(bn, PoolKind.Avg, 1, 1));
        var line = b.Reshape(x, B, 4, 72);
        b.Output("max1", b.Pool(line, PoolKind.Max, [3], stride: [2], padding: [1], dilation: [2]));
        b.Output("avg1", b.Pool(line, PoolKind.Avg, [4]));
        b.Output("amax1", b.AdaptivePool(line, PoolKind.Max, 5));
        b.Output("aavg1", b.AdaptivePool(line, PoolKind.Avg, 7));
        return b.Build();
    }

    [Fact]
    public void Conv2d_BatchNorm2d_and_every_pooling_kind_round_trip_with_their_attributes()
    {
        var g = Windows();
        var json = GraphJson.Write(g);
        var read = GraphJson.Read(json, "windows.graph.json");
        Assert.Equal(g, read);
        Assert.Equal(json, GraphJson.Write(read));
        foreach (var kind in new[] { "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "Conv2d", "BatchNorm2d" })
        {
            Assert.Contains($"\"kind\": \"{kind}\"", json, StringComparison.Ordinal);
        }

        Assert.Contains("\"kernelSize\": [3, 2]", json, StringComparison.Ordinal);
        Assert.Contains("\"stride\": [2, 1]", json, StringComparison.Ordinal);
        Assert.Contains("\"padding\": [1, 0]", json, StringComparison.Ordinal);
        Assert.Contains("\"dilation\": [1, 2]", json, StringComparison.Ordinal);
        Assert.Contains("\"groups\": 2", json, StringComparison.Ordinal);
        Assert.Contains("\"momentum\": 0.25", json, StringComparison.Ordinal);
        Assert.Contains("\"trackRunningStats\": false", json, StringComparison.Ordinal);
        Assert.Contains("\"kernel\": [3]", json, StringComparison.Ordinal);
        Assert.Contains("\"output\": [3, 4]", json, StringComparison.Ordinal);
        Assert.Contains("\"output\": [7]", json, StringComparison.Ordinal);
    }

    [Fact]
    public void A_conv2d_pair_of_the_wrong_length_is_rejected()
    {
        var json = GraphJson.Write(Windows()).Replace("\"kernelSize\": [3, 2]", "\"kernelSize\": [3, 2, 1]", StringComparison.Ordinal);
        var e = Assert.Throws<JsonFormatException>(() => GraphJson.Read(json, File));
        Assert.Equal($"{File}: $.modules[0].spec.kernelSize: kernelSize has 3 values; expected 2 (height, width)", e.Message);
    }

    [Fact]
    public void Written_text_is_lf_indented_by_two_with_no_trailing_whitespace_and_a_final_newline()
    {
        var json = GraphJson.Write(Everything());
        Assert.DoesNotContain("\r", json, StringComparison.Ordinal);
        Assert.EndsWith("}\n", json, StringComparison.Ordinal);
        Assert.False(json.EndsWith("\n\n", StringComparison.Ordinal));
        Assert.StartsWith("{\n  \"format\": \"neuralsurgery.graph\",\n  \"version\": 1,\n  \"name\": \"Everything\",\n", json, StringComparison.Ordinal);
        foreach (var line in json.Split('\n'))
        {
            Assert.Equal(line.TrimEnd(), line);
            var indent = line.Length - line.TrimStart(' ').Length;
            Assert.Equal(0, indent % 2);
            Assert.DoesNotContain("\t", line, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(0.5, "0.5")]
    [InlineData(1e-5, "1E-05")]
    [InlineData(1.0, "1")]
    [InlineData(0.1, "0.1")]
    [InlineData(1.0 / 3.0, "0.3333333333333333")]
    [InlineData(1e-12, "1E-12")]
    [InlineData(5e-324, "5E-324")]
    [InlineData(123456789.125, "123456789.125")]
    [InlineData(1e21, "1E+21")]
    public void Doubles_round_trip_exactly(double value, string text)
    {
        var g = ModelGraph.Create(
            "D",
            new[] { new GraphInput("x", Shape.Of(B, 4), InputRole.Features, "x") },
            new GraphModule[]
            {
                new("bn", new BatchNorm1dSpec(4, value, value)),
                new("ln", new LayerNormSpec(new long[] { 4 }, value)),
            },
            new[]
            {
                new GraphNode("bn", new CallOp("bn"), new[] { new ValueRef("x") }, default),
                new GraphNode("ln", new CallOp("ln"), new[] { new ValueRef("bn") }, default),
            },
            new[] { new GraphOutput("y", new ValueRef("ln"), "y") });
        var json = GraphJson.Write(g);
        Assert.Contains("\"eps\": " + text + ",\n", json, StringComparison.Ordinal);
        Assert.Contains("\"momentum\": " + text + ",\n", json, StringComparison.Ordinal);
        var read = GraphJson.Read(json);
        Assert.Equal(g, read);
        Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(((LayerNormSpec)read.Modules[1].Spec).Eps));
        Assert.Equal(json, GraphJson.Write(read));
    }

    [Fact]
    public void Non_finite_doubles_never_reach_a_graph()
    {
        var b = new GraphBuilder("M");
        Assert.Throws<GraphException>(() => b.Dropout(b.FeatureInput("x", B, 4), double.NaN));
        b.Module("ln", new LayerNormSpec(new long[] { 4 }, double.PositiveInfinity));
        b.Output("y", b.Call("ln", b.FeatureInput("x2", B, 4))[0]);
        Assert.Contains("eps", Assert.Throws<GraphException>(() => b.Build()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unbatched_recurrent_graphs_and_layers_without_bias_round_trip()
    {
        var b = new GraphBuilder("U");
        var x = b.FeatureInput("x", 7, 3);
        var h0 = b.StateInput("h0", 2, 5);
        var (o, h) = b.Gru("gru", x, 5, numLayers: 2, bias: false, h0: h0);
        var y = b.Linear("fc", b.LayerNorm("ln", o), 2, bias: false);
        b.Module("ln2", new LayerNormSpec(new long[] { 2 }, 1e-6, ElementwiseAffine: false));
        b.Output("y", b.Call("ln2", y)[0]).StateOutput("h", h);
        var g = b.Build();
        var json = GraphJson.Write(g);
        Assert.Equal(g, GraphJson.Read(json));
        Assert.Equal(json, GraphJson.Write(GraphJson.Read(json)));
    }

    [Fact]
    public void Reading_accepts_any_property_order()
    {
        var reordered = Golden.Replace(
            "      \"kind\": \"Linear\",\n        \"inFeatures\": 4,",
            "      \"inFeatures\": 4,\n        \"kind\": \"Linear\",",
            StringComparison.Ordinal);
        Assert.NotEqual(Golden, reordered);
        Assert.Equal(Mlp(), GraphJson.Read(reordered));
    }

    // ------------------------------------------------------------ errors

    private static string Edit(string old, string replacement)
    {
        var index = Golden.IndexOf(old, StringComparison.Ordinal);
        Assert.True(index >= 0, $"'{old}' is not in the golden JSON");
        return Golden.Substring(0, index) + replacement + Golden.Substring(index + old.Length);
    }

    private static JsonFormatException Fails(string json, string jsonPath, params string[] parts)
    {
        var e = Assert.Throws<JsonFormatException>(() => GraphJson.Read(json, File));
        Assert.StartsWith(File + ": " + jsonPath + ": ", e.Message, StringComparison.Ordinal);
        Assert.Equal(File, e.FilePath);
        Assert.Equal(jsonPath, e.JsonPath);
        foreach (var part in parts)
        {
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
        }

        return e;
    }

    [Fact]
    public void Bad_syntax_reports_line_and_byte_position()
    {
        var e = Assert.Throws<JsonFormatException>(() => GraphJson.Read(Edit("\"version\": 1,", "\"version\": 1"), File));
        Assert.Equal(4L, e.LineNumber);
        Assert.Equal(3L, e.BytePositionInLine);
        Assert.StartsWith(File + ": line 4, byte 3: invalid JSON: ", e.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<System.Text.Json.JsonException>(e.InnerException);
        Assert.Null(e.JsonPath);

        var truncated = Assert.Throws<JsonFormatException>(() => GraphJson.Read(Golden.Substring(0, 200)));
        Assert.StartsWith("line ", truncated.Message, StringComparison.Ordinal);
        Assert.Throws<JsonFormatException>(() => GraphJson.Read(string.Empty));
        Assert.Throws<JsonFormatException>(() => GraphJson.Read(Golden + "{}"));
        Assert.Throws<JsonFormatException>(() => GraphJson.Read(Edit("\"bias\": true\n", "\"bias\": true,\n")));
        Assert.Throws<JsonFormatException>(() => GraphJson.Read("// comment\n" + Golden));
    }

    [Fact]
    public void Without_a_file_path_the_message_starts_with_the_json_path()
    {
        var e = Assert.Throws<JsonFormatException>(() => GraphJson.Read(Edit("\"version\": 1", "\"version\": 2")));
        Assert.Equal("$.version: version 2 is not supported; expected 1", e.Message);
        Assert.Null(e.FilePath);
    }

    [Fact]
    public void Unknown_properties_are_rejected()
    {
        Fails(Edit("\"kind\": \"call\",", "\"kind\": \"call\",\n        \"extra\": 1,"), "$.nodes[0].op.extra", "unknown property 'extra'", "'module'");
        Fails(Edit("\"version\": 1,", "\"version\": 1,\n  \"comment\": \"hi\","), "$.comment", "unknown property 'comment'");
        Fails(Edit("\"schemaInput\": \"x\"", "\"schemaInput\": \"x\",\n      \"my key\": 0"), "$.inputs[0]['my key']", "unknown property 'my key'");
        Fails(Edit("\"dtype\": \"float32\"", "\"dtype\": \"float32\",\n      \"requiresGrad\": true"), "$.parameters[0].requiresGrad", "unknown property");
    }

    [Fact]
    public void Duplicate_properties_are_rejected()
    {
        Fails(Edit("\"version\": 1,", "\"version\": 1,\n  \"version\": 1,"), "$.version", "duplicate property 'version'");
    }

    [Fact]
    public void Missing_properties_are_rejected()
    {
        Fails(Edit(",\n        \"bias\": true", string.Empty), "$.modules[0].spec", "missing required property 'bias'");
        Fails(Edit(",\n      \"outputShapes\": [[\"B\", \"8\"]]", string.Empty), "$.nodes[0]", "missing required property 'outputShapes'");
        Fails(Edit(",\n      \"schemaInput\": \"x\"", string.Empty), "$.inputs[0]", "missing required property 'schemaInput'");
        Fails(Edit("\"format\": \"neuralsurgery.graph\",\n", string.Empty), "$", "missing required property 'format'");
        Fails(Golden.Substring(0, Golden.IndexOf(",\n  \"parameters\"", StringComparison.Ordinal)) + "\n}\n", "$", "missing required property 'parameters'");
    }

    [Fact]
    public void Wrong_types_are_rejected()
    {
        Fails(Edit("\"inFeatures\": 4", "\"inFeatures\": \"4\""), "$.modules[0].spec.inFeatures", "expected a 64-bit integer", "the string \"4\"");
        Fails(Edit("\"inFeatures\": 4", "\"inFeatures\": 4.5"), "$.modules[0].spec.inFeatures", "expected a 64-bit integer", "the number 4.5");
        Fails(Edit("\"buffer\": false", "\"buffer\": 0"), "$.parameters[0].buffer", "expected true or false", "the number 0");
        Fails(Edit("\"operands\": [\"x\"]", "\"operands\": \"x\""), "$.nodes[0].operands", "expected an array", "the string \"x\"");
        Fails(Edit("\"operands\": [\"x\"]", "\"operands\": [1]"), "$.nodes[0].operands[0]", "expected a string", "the number 1");
        Fails(Edit("\"shape\": [\"B\", \"4\"]", "\"shape\": [\"B\", 4]"), "$.inputs[0].shape[1]", "expected a string");
        Fails(Edit("\"name\": \"Mlp\"", "\"name\": null"), "$.name", "expected a string, found null");
        Fails(Edit("\"op\": {\n        \"kind\": \"call\",\n        \"module\": \"fc1\"\n      }", "\"op\": \"call\""), "$.nodes[0].op", "expected an object");
        Fails("[]", "$", "expected an object, found an array");
    }

    [Fact]
    public void Wrong_format_or_version_is_rejected()
    {
        Fails(Edit("\"version\": 1", "\"version\": 2"), "$.version", "version 2 is not supported; expected 1");
        Fails(Edit("\"version\": 1", "\"version\": \"1\""), "$.version", "expected a 64-bit integer");
        Fails(Edit("\"neuralsurgery.graph\"", "\"neuralsurgery.plan\""), "$.format", "unknown format 'neuralsurgery.plan'; expected 'neuralsurgery.graph'");
    }

    [Fact]
    public void Bad_dim_strings_are_rejected()
    {
        Fails(Edit("\"shape\": [\"B\", \"4\"]", "\"shape\": [\"B\", \"4x\"]"), "$.inputs[0].shape[1]", "'4x' is not a dimension");
        Fails(Edit("\"outputShapes\": [[\"B\", \"8\"]]", "\"outputShapes\": [[\"B\", \"8\"], [\"2 B\"]]"), "$.nodes[0].outputShapes[1][0]", "'2 B' is not a dimension");
        Fails(Edit("\"outputShapes\": [[\"B\", \"8\"]]", "\"outputShapes\": []"), "$.nodes[0].outputShapes", "at least one output shape");
    }

    [Fact]
    public void Unknown_kinds_and_enum_values_are_rejected()
    {
        Fails(Edit("\"kind\": \"activation\"", "\"kind\": \"frobnicate\""), "$.nodes[1].op.kind", "unknown op kind 'frobnicate'", "'call'", "'transpose'");
        Fails(Edit("\"activation\": \"relu\"", "\"activation\": \"swish\""), "$.nodes[1].op.activation", "unknown activation 'swish'", "'leaky_relu'");
        Fails(Edit("\"kind\": \"Linear\"", "\"kind\": \"Dense\""), "$.modules[0].spec.kind", "unknown layer kind 'Dense'", "'BatchNorm1d'");
        Fails(Edit("\"role\": \"features\"", "\"role\": \"Features\""), "$.inputs[0].role", "unknown input role 'Features'", "'categorical'");
        Fails(Edit("\"role\": \"weight\"", "\"role\": \"kernel\""), "$.parameters[0].role", "unknown parameter role 'kernel'", "'running_mean'");
    }

    [Fact]
    public void Op_attributes_of_the_wrong_kind_are_unknown_properties()
    {
        Fails(Edit("\"activation\": \"relu\"", "\"activation\": \"relu\",\n        \"axis\": 1"), "$.nodes[1].op.axis", "unknown property 'axis'");
    }

    [Fact]
    public void Unknown_module_and_value_references_are_rejected()
    {
        Fails(Edit("\"module\": \"fc2\"\n      }", "\"module\": \"fc3\"\n      }"), "$.nodes[2].op.module", "module 'fc3' is not declared");
        Fails(Edit("\"operands\": [\"relu\"]", "\"operands\": [\"relu2\"]"), "$.nodes[2].operands[0]", "'relu2' refers to no input or earlier node output");
        Fails(Edit("\"operands\": [\"fc1\"]", "\"operands\": [\"fc1:1\"]"), "$.nodes[1].operands[0]", "'fc1:1'");
        Fails(Edit("\"operands\": [\"x\"]", "\"operands\": [\"fc2\"]"), "$.nodes[0].operands[0]", "'fc2'");
        Fails(Edit("\"value\": \"fc2\"", "\"value\": \"fc3\""), "$.outputs[0].value", "'fc3'");
    }

    [Fact]
    public void A_parameters_list_that_disagrees_with_the_modules_is_rejected()
    {
        Fails(Edit("\"shape\": [\"8\"]", "\"shape\": [\"9\"]"), "$.parameters[1].shape", "parameter 'fc1.bias'", "[9]", "[8]");
        Fails(Edit("\"name\": \"fc1.bias\"", "\"name\": \"fc1.b\""), "$.parameters[1].name", "parameter 'fc1.b'", "'fc1.bias'");
        Fails(Edit("\"role\": \"bias\"", "\"role\": \"weight\""), "$.parameters[1].role", "parameter 'fc1.bias'", "'weight'", "'bias'");
        Fails(Edit("\"buffer\": false", "\"buffer\": true"), "$.parameters[0].buffer", "parameter 'fc1.weight'");
        Fails(Edit("\"dtype\": \"float32\"", "\"dtype\": \"float64\""), "$.parameters[0].dtype", "'float64'", "'float32'");
        Fails(Edit("\"module\": \"fc1\",\n      \"shape\"", "\"module\": \"fc2\",\n      \"shape\""), "$.parameters[0].module", "'fc2'", "'fc1'");

        var lastEntry = Golden.LastIndexOf(",\n    {", StringComparison.Ordinal);
        var missing = Golden.Substring(0, lastEntry) + "\n  ]\n}\n";
        Fails(missing, "$.parameters", "parameter 'fc2.bias'", "is missing");

        var extra = Golden.Substring(0, Golden.LastIndexOf("\n  ]", StringComparison.Ordinal))
            + ",\n    {\n      \"name\": \"fc2.extra\",\n      \"module\": \"fc2\",\n      \"shape\": [],\n      \"role\": \"bias\",\n      \"buffer\": true,\n      \"dtype\": \"float32\"\n    }\n  ]\n}\n";
        Fails(extra, "$.parameters[4]", "parameter 'fc2.extra' is not in");
    }

    [Fact]
    public void Graph_errors_are_wrapped_with_the_file_and_the_element_path()
    {
        var e = Fails(Edit("\"shape\": [\"B\", \"4\"]", "\"shape\": [\"B\", \"5\"]"), "$.nodes[0]", "node 'fc1' (Linear 'fc1')", "[B, 5]", "in_features");
        Assert.IsType<GraphException>(e.InnerException);

        Fails(Edit("\"outputShapes\": [[\"B\", \"2\"]]", "\"outputShapes\": [[\"B\", \"3\"]]"), "$.nodes[2]", "node 'fc2'", "declared output shapes [B, 3]", "[B, 2]");
        Fails(Edit("\"name\": \"Mlp\"", "\"name\": \"my model\""), "$.name", "model name 'my model'");
        Fails(Edit("\"shape\": [\"B\", \"4\"]", "\"shape\": [\"B\", \"0\"]"), "$.inputs[0]", "input 'x'");
        Fails(Edit("\"outFeatures\": 8", "\"outFeatures\": 0"), "$.modules[0]", "module 'fc1' (Linear)", "out_features is 0");
        Fails(Edit("\"id\": \"fc2\"", "\"id\": \"relu\"").Replace("\"value\": \"fc2\"", "\"value\": \"relu\"", StringComparison.Ordinal), "$.nodes[2]", "node name 'relu' is used twice");
        var twoOutputs = Edit(
            "\"schemaOutput\": \"y\"\n    }",
            "\"schemaOutput\": \"y\"\n    },\n    {\n      \"name\": \"y\",\n      \"value\": \"relu\",\n      \"schemaOutput\": null\n    }");
        Fails(twoOutputs, "$.outputs[1]", "output 'y' is declared twice");
    }

    [Fact]
    public void Mutated_documents_either_read_and_round_trip_or_fail_with_a_json_format_exception()
    {
        var json = GraphJson.Write(Everything());
        var tokens = System.Text.RegularExpressions.Regex.Matches(json, "\"[^\"\n]*\"|(?<=[:\\[ ])-?[0-9][0-9.E+-]*");
        var read = 0;
        foreach (System.Text.RegularExpressions.Match token in tokens)
        {
            var replacements = token.Value.StartsWith('"') ? new[] { "\"\"", "\"lstm:1\"" } : new[] { "0", "-1", "2", "99999999999" };
            foreach (var replacement in replacements)
            {
                var mutated = json.Substring(0, token.Index) + replacement + json.Substring(token.Index + token.Length);
                try
                {
                    var g = GraphJson.Read(mutated, "fuzz.json");
                    Assert.Equal(g, GraphJson.Read(GraphJson.Write(g)));
                    read++;
                }
                catch (JsonFormatException e)
                {
                    Assert.StartsWith("fuzz.json: ", e.Message, StringComparison.Ordinal);
                }
            }
        }

        Assert.True(tokens.Count > 500);
        Assert.True(read > 0);
    }

    [Fact]
    public void A_byte_order_mark_is_skipped()
    {
        var utf8 = GraphJson.WriteUtf8(Mlp());
        Assert.Equal(Mlp(), GraphJson.ReadUtf8(new byte[] { 0xEF, 0xBB, 0xBF }.Concat(utf8).ToArray()));
        Assert.Equal(Mlp(), GraphJson.Read("\uFEFF" + Golden));
    }

    [Fact]
    public void Invalid_text_encodings_are_format_errors()
    {
        var surrogate = Assert.Throws<JsonFormatException>(() => GraphJson.Read(Edit("\"Mlp\"", "\"M\ud800\""), File));
        Assert.StartsWith(File + ": invalid text", surrogate.Message, StringComparison.Ordinal);

        var utf8 = Encoding.UTF8.GetBytes(Edit("\"Mlp\"", "\"M@p\""));
        utf8[Array.IndexOf(utf8, (byte)'@')] = 0xFF;
        Assert.Throws<JsonFormatException>(() => GraphJson.ReadUtf8(utf8, File));

        var key = Encoding.UTF8.GetBytes(Edit("\"name\": \"Mlp\"", "\"n@me\": \"Mlp\""));
        key[Array.IndexOf(key, (byte)'@')] = 0xFF;
        Assert.Throws<JsonFormatException>(() => GraphJson.ReadUtf8(key, File));
    }

    [Fact]
    public void Null_arguments_are_rejected()
    {
        Assert.Throws<ArgumentNullException>(() => GraphJson.Write(null!));
        Assert.Throws<ArgumentNullException>(() => GraphJson.Read(null!));
    }

    [Fact]
    public void Json_format_exception_has_the_standard_constructors()
    {
        Assert.Equal("m", new JsonFormatException("m").Message);
        var inner = new InvalidOperationException();
        Assert.Same(inner, new JsonFormatException("m", inner).InnerException);
        Assert.NotEmpty(new JsonFormatException().Message);
    }

    [Fact]
    public void Layer_norm_shapes_of_several_axes_round_trip()
    {
        var b = new GraphBuilder("L");
        var x = b.FeatureInput("x", B, N, 3, 4);
        b.Output("y", b.LayerNorm("ln", x, 3, 4));
        var g = b.Build();
        var json = GraphJson.Write(g);
        Assert.Contains("\"normalizedShape\": [3, 4]", json, StringComparison.Ordinal);
        Assert.Equal(g, GraphJson.Read(json));
        Assert.Equal(EquatableArray.Create(3L, 4L), ((LayerNormSpec)GraphJson.Read(json).Modules[0].Spec).NormalizedShape);
    }
}
