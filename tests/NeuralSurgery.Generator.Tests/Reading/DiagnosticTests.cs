using System.Linq;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Graph;
using static NeuralSurgery.Generator.Tests.Reading.DiagnosticCases;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>Every NS1xxx diagnostic with its exact id, message and location (1-based line and column).</summary>
public class DiagnosticTests
{
    private const string NotBuilt = "; the model graph is not built";

    [Fact]
    public void NS1001_an_unsupported_call_is_reported_at_the_call()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear fc = Linear(4, 2);

                public override Tensor forward(Tensor x) => fc.forward(x).cumsum(1);
            """), "M", X4);
        Assert.Null(r.Graph);
        Assert.Equal(
            new[] { "NS1001 (12,49): Unsupported call 'fc.forward(x).cumsum(1)' in M.forward: the mirror has no rule for Tensor.cumsum" + NotBuilt },
            ModelSource.Diagnostics(r));
        Assert.Equal(ReaderDiagnostic.GraphNotBuilt, r.Diagnostics[0].Fallback);
        Assert.Equal(DiagnosticSeverity.Error, r.Diagnostics[0].Severity);
    }

    [Fact]
    public void NS1001_control_flow_is_reported_at_the_statement()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear fc = Linear(4, 2);

                public override Tensor forward(Tensor x)
                {
                    if (training)
                    {
                        x = x.relu();
                    }

                    return fc.forward(x);
                }
            """), "M", X4);
        Assert.Null(r.Graph);
        Assert.Equal(
            new[] { "NS1001 (14,9): Unsupported statement 'if (training) { x = x.relu(); }' in M.forward: the reader takes a branch only when its condition is known at build time (constants, constructor arguments the schema or defaults bind, whether an optional module was created)" + NotBuilt },
            ModelSource.Diagnostics(r));
    }

    [Fact]
    public void NS1001_auto_properties_field_assignments_in_forward_and_max_indexes()
    {
        var r = ModelSource.Read(Model("""
                private Linear Fc { get; } = Linear(4, 2);
                private Linear other = Linear(4, 2);

                public override Tensor forward(Tensor x)
                {
                    other = Linear(4, 2);
                    return other.forward(x.unsqueeze(1).max(1).indexes);
                }
            """), "M", X4);
        Assert.Null(r.Graph);
        Assert.Equal(
            new[]
            {
                "NS1001 (10,5): Unsupported auto-property 'private Linear Fc { get; } = Linear(4, 2);' in M: RegisterComponents() registers the compiler's backing field, whose name is not the property's; store modules and tensors in fields" + NotBuilt,
                "NS1001 (15,9): Unsupported assignment 'other' in M.forward: assigning field 'other' changes module state that the graph does not hold" + NotBuilt,
                "NS1001 (16,30): Unsupported expression 'x.unsqueeze(1).max(1).indexes' in M.forward: the indexes of max(dim) are integer positions, which the graph IR does not hold" + NotBuilt,
            },
            ModelSource.Diagnostics(r));
    }

    [Fact]
    public void NS1001_several_constructors_with_parameters_leave_sizes_unknowable()
    {
        var r = ModelSource.Read("""
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Linear fc;

                public M(long a) : base("M") { fc = Linear(4, 2); RegisterComponents(); }

                public M(int a, int b) : base("M") { fc = Linear(4, 2); RegisterComponents(); }

                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """, "M", X4);
        Assert.Equal(
            new[] { "NS1001 (12,13): Unsupported constructor '(int a, int b)' in M: the model class has several constructors with parameters and none without; bind the parameters of the one that builds the modules with 'arguments:' in the schema (every parameter without a default, and only that constructor's)" + NotBuilt },
            ModelSource.Diagnostics(r));
    }

    [Fact]
    public void Several_constructors_with_parameters_read_through_the_one_the_schema_arguments_bind()
    {
        const string source = """
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Linear fc;
                private readonly Linear head;

                public M(long hidden) : base("M") { fc = Linear(4, hidden); head = Linear(hidden, 2); RegisterComponents(); }

                public M(long hidden, long extra) : base("M") { fc = Linear(4, hidden + extra); head = Linear(hidden + extra, 2); RegisterComponents(); }

                public override Tensor forward(Tensor x) => head.forward(fc.forward(x));
            }
            """;
        var one = ModelSource.Graph(ModelSource.Read(source, "M", X4 + "\narguments: { hidden: 3 }\n"));
        var two = ModelSource.Graph(ModelSource.Read(source, "M", X4 + "\narguments: { hidden: 3, extra: 2 }\n"));

        Assert.Equal("fc.weight [3, 4]", ModelSource.StateDict(one)[0]);
        Assert.Equal("fc.weight [5, 4]", ModelSource.StateDict(two)[0]);
    }

    [Fact]
    public void NS1002_constructs_with_a_sound_fallback_are_warnings_and_the_graph_is_built()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear fc = Linear(4, 2);

                public override Tensor forward(Tensor x)
                {
                    var h = x.log1p() + x.shape[0];
                    h = torch.erf(-h) / x.pow(3);
                    return fc.forward(h.unsqueeze(0).squeeze());
                }
            """), "M", X4);
        const string Tail = "; feature sets stay exact but numeric execution of the graph differs";
        Assert.Equal(
            new[]
            {
                "NS1002 (14,17): Unsupported call 'x.log1p()' in M.forward: the graph treats it as the identity (an elementwise function keeps every element's feature set)" + Tail,
                "NS1002 (14,17): Unsupported operator 'x.log1p() + x.shape[0]' in M.forward: the graph treats it as the identity of its tensor operand (a scalar operand carries no features)" + Tail,
                "NS1002 (15,13): Unsupported call 'torch.erf(-h)' in M.forward: the graph treats it as the identity (an elementwise function keeps every element's feature set)" + Tail,
                "NS1002 (15,29): Unsupported call 'x.pow(3)' in M.forward: the graph treats it as the identity (an elementwise function keeps every element's feature set)" + Tail,
                "NS1002 (16,27): Unsupported call 'h.unsqueeze(0).squeeze()' in M.forward: the graph treats it as squeezing only the axes of constant size 1 (symbolic sizes are assumed not to be 1)" + Tail,
            },
            ModelSource.Diagnostics(r));
        Assert.All(r.Diagnostics, d => Assert.Equal(DiagnosticSeverity.Warning, d.Severity));
        Assert.Equal("treated as the identity (an elementwise function keeps every element's feature set)", r.Diagnostics[3].Fallback);
        Assert.NotNull(r.Graph);

        // Division, like the square root and log it used to stand for, is exact now.
        Assert.Equal(
            new[]
            {
                "neg = neg(x) -> [B, 4]",
                "div = div(neg, x) -> [B, 4]",
                "unsqueeze = unsqueeze 0(div) -> [1, B, 4]",
                "squeeze = squeeze 0(unsqueeze) -> [B, 4]",
                "fc = call fc(squeeze) -> [B, 2]",
            },
            ModelSource.Nodes(r.Graph!));
    }

    [Fact]
    public void Square_roots_logs_and_division_are_exact_ops()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear fc = Linear(4, 2);

                public override Tensor forward(Tensor x)
                {
                    var rms = x.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-6;
                    var h = x * torch.rsqrt(rms) + x / rms.sqrt() + (x.square() + 1).log() + x.pow(0.5);
                    h.add_(x, alpha: 0.5);
                    return fc.forward(h);
                }
            """), "M", X4);

        Assert.Empty(r.Diagnostics);
        var ops = r.Graph!.Nodes.Select(n => n.Op).ToList();
        Assert.Equal(2, ops.OfType<ActivationOp>().Count(a => a.Activation == ActivationKind.Sqrt));
        Assert.Single(ops.OfType<ActivationOp>(), a => a.Activation == ActivationKind.Rsqrt);
        Assert.Single(ops.OfType<ActivationOp>(), a => a.Activation == ActivationKind.Log);
        Assert.Single(ops.OfType<BinaryOp>(), b => b.Operation == BinaryKind.Div);
        Assert.Single(ops.OfType<ScaleOp>(), s => s.Factor == 0.5);
    }

    // A static readonly field with a constant initialiser (Hidden) is a constant; an unbound model constructor
    // parameter (outputs) says how to bind it.
    [Fact]
    public void NS1003_non_constant_sizes_are_reported_at_the_argument_or_where_they_enter_a_nested_module()
    {
        var r = ModelSource.Read("""
            public sealed class Block : Module<Tensor, Tensor>
            {
                private readonly Linear fc;

                public Block(long size) : base("Block")
                {
                    fc = Linear(size, 2);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => fc.forward(x);
            }

            public sealed class M : Module<Tensor, Tensor>
            {
                private static readonly long Hidden = 8;
                private long _width = 4;
                private readonly Linear fc = Linear(4, Hidden);
                private readonly Linear out1;
                private readonly Block block;

                public M(long outputs) : base("M")
                {
                    long local = 4; // constructor code runs at build time: a local holding a constant is one
                    out1 = Linear(local, outputs);
                    block = new Block(_width); // constructor code runs at build time: '_width' is 4 here
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    var parts = 2; // forward runs statement by statement: a local holding a constant is one
                    return block.forward(x.view(-1, parts * _width / _width));
                }

                public void Grow() => _width++; // written outside the constructor: unknown in forward
            }
            """, "M", X4);
        const string Tail = ", which is not a compile-time constant; sizes and layer options must be literals, const fields or locals, or arithmetic of them";
        Assert.Null(r.Graph);
        Assert.Equal(
            new[]
            {
                "NS1003 (30,30): Argument 'outputSize' of 'Linear' is 'outputs', which is not a compile-time constant; it is parameter 'outputs' of the M constructor, which nothing binds: give the parameter a default value, bind it with 'arguments: { outputs: ... }' in model.features.yaml, or use a constant",
                "NS1003 (38,41): Argument 'shape' of 'Tensor.view' is 'parts * _width / _width'" + Tail,
            },
            ModelSource.Diagnostics(r));

        // The module tree is still reported as far as it could be read.
        Assert.Equal(new[] { "fc", "block.fc" }, r.Modules.Select(m => m.Path).ToArray());
    }

    [Fact]
    public void NS1004_and_NS1008_forward_parameters_without_a_schema_input()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear fc = Linear(4, 2);

                public override Tensor forward(Tensor x, Tensor mask, Tensor unused) => fc.forward(x * mask);
            """, "Module<Tensor, Tensor, Tensor, Tensor>"), "M", X4);
        Assert.Null(r.Graph);
        Assert.Equal(
            new[]
            {
                "NS1004 (12,53): Forward parameter 'mask' has no input in model.features.yaml and is not the initial state of an LSTM or GRU, so its shape is unknown",
                "NS1008 (12,66): Forward parameter 'unused' is never used and has no input in model.features.yaml; it is left out of the graph",
            },
            ModelSource.Diagnostics(r));
        Assert.Equal("left out of the graph", r.Diagnostics[1].Fallback);
    }

    [Fact]
    public void NS1004_without_a_schema_every_input_needs_one()
    {
        var r = ModelSource.Read(Model("""
                private readonly LSTM lstm = LSTM(4, 3);

                public override (Tensor, Tensor, Tensor) forward(Tensor x, Tensor h, Tensor c) => lstm.forward(x, (h, c));
            """, "Module<Tensor, Tensor, Tensor, (Tensor, Tensor, Tensor)>"), "M", (string?)null);
        Assert.Equal(
            new[] { "NS1004 (12,61): Forward parameter 'x' has no input in the feature schema (none was given) and is not the initial state of an LSTM or GRU, so its shape is unknown" },
            ModelSource.Diagnostics(r));
        Assert.Equal(new[] { "lstm" }, r.Modules.Select(m => m.Path).ToArray());
    }

    [Fact]
    public void NS1005_and_NS1009_schema_inputs_and_outputs_the_model_does_not_have()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear fc = Linear(4, 2);

                public override Tensor forward(Tensor x) => fc.forward(x);
            """), "M", """
            model: M
            version: 1
            inputs:
              x:
                features: [a, b, c, d]
              extra:
                features: [e]
            outputs:
              y:
                features: [p, q]
              value:
                features: [v]
            """);
        Assert.Equal(
            new[]
            {
                "NS1005 (6,3): Schema input 'extra' in model.features.yaml has no parameter of that name in M.forward",
                "NS1009 (12,49): Schema output 'value' in model.features.yaml is not returned by M.forward",
            },
            ModelSource.Diagnostics(r));
        Assert.Equal("model.features.yaml", r.Diagnostics[0].Location.FilePath);
        Assert.NotNull(r.Graph);
        Assert.Equal(new[] { "y = fc" }, ModelSource.Outputs(r.Graph!));
    }

    [Fact]
    public void NS1006_a_layer_input_size_that_disagrees_with_its_input_carries_the_argument_for_a_code_fix()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear fc = Linear(inputSize: 10, outputSize: 2);

                public override Tensor forward(Tensor x) => fc.forward(x);
            """), "M", X4);
        Assert.Null(r.Graph);
        Assert.Equal(new[] { "NS1006 (12,49): Module 'fc' (Linear) has inputSize = 10, but its input 'x' has shape [B, 4]" }, ModelSource.Diagnostics(r));
        var d = r.Diagnostics[0];
        Assert.Equal("Model.cs(10,52)", d.AdditionalLocations.Single().ToString());
        Assert.Equal(
            new[]
            {
                new DiagnosticProperty("Module", "fc"),
                new DiagnosticProperty("Argument", "inputSize"),
                new DiagnosticProperty("Size", "4"),
                new DiagnosticProperty("Expected", "10"),
                new DiagnosticProperty("SchemaInput", "x"),
                new DiagnosticProperty("SchemaPath", "model.features.yaml"),
            },
            d.Properties.ToArray());

        var roslyn = d.ToDiagnostic();
        Assert.Equal("NS1006", roslyn.Id);
        Assert.Equal(d.Message, roslyn.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(11, roslyn.Location.GetLineSpan().StartLinePosition.Line);
        Assert.Equal("4", roslyn.Properties["Size"]);
        Assert.Equal(9, roslyn.AdditionalLocations.Single().GetLineSpan().StartLinePosition.Line);
    }

    [Fact]
    public void NS1006_names_no_schema_input_when_an_op_stands_between_the_input_and_the_layer()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear fc = Linear(inputSize: 10, outputSize: 2);

                public override Tensor forward(Tensor x) => fc.forward(x.relu());
            """), "M", X4);
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal("NS1006", d.Id);
        Assert.Equal(
            new[] { "Module=fc", "Argument=inputSize", "Size=4", "Expected=10", "SchemaPath=model.features.yaml" },
            d.Properties.Select(p => p.Key + "=" + p.Value).ToArray());
    }

    [Fact]
    public void NS1004_at_a_layer_input_carries_the_size_the_missing_schema_input_needs()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear fc = Linear(4, 2);
                private readonly Linear gate = Linear(3, 2);

                public override Tensor forward(Tensor x, Tensor mask) => fc.forward(x) * gate.forward(mask);
            """, "Module<Tensor, Tensor, Tensor>"), "M", X4);
        Assert.Equal(
            new[] { "NS1004 (13,53): Forward parameter 'mask' has no input in model.features.yaml and is not the initial state of an LSTM or GRU, so its shape is unknown" },
            ModelSource.Diagnostics(r));
        Assert.Equal(
            new[] { "Input=mask", "Module=gate", "Expected=3", "SchemaPath=model.features.yaml" },
            r.Diagnostics[0].Properties.Select(p => p.Key + "=" + p.Value).ToArray());
    }

    [Fact]
    public void NS1004_used_in_an_op_first_carries_no_size()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear fc = Linear(4, 2);

                public override Tensor forward(Tensor x, Tensor mask) => fc.forward(x * mask);
            """, "Module<Tensor, Tensor, Tensor>"), "M", X4);
        Assert.Equal("NS1004", Assert.Single(r.Diagnostics).Id);
        Assert.Empty(r.Diagnostics[0].Properties);
    }

    [Fact]
    public void NS1006_a_recurrent_layer_checks_its_input_size_too()
    {
        var r = ModelSource.Read(Model("""
                private readonly LSTM lstm = LSTM(5, 3);

                public override Tensor forward(Tensor x) => lstm.forward(x.unsqueeze(0)).Item1.squeeze(0);
            """), "M", X4);
        Assert.Equal(new[] { "NS1006 (12,49): Module 'lstm' (LSTM) has inputSize = 5, but its input 'x.unsqueeze(0)' has shape [1, B, 4]" }, ModelSource.Diagnostics(r));
    }

    [Fact]
    public void NS1007_shape_errors_are_reported_at_the_expression_or_the_factory_call()
    {
        var r = ModelSource.Read(Model("""
                private readonly Embedding emb = Embedding(4, 2);
                private readonly Linear bad = Linear(0, 2);

                public override Tensor forward(Tensor x) => torch.cat([x, x.unsqueeze(1)], 1) + emb.forward(x.relu());
            """), "M", X4);
        Assert.Null(r.Graph);
        Assert.Equal(
            new[]
            {
                "NS1007 (11,35): The graph is inconsistent at 'Linear(0, 2)': module 'bad' (Linear): in_features is 0; expected >= 1",
                "NS1007 (13,49): The graph is inconsistent at 'torch.cat([x, x.unsqueeze(1)], 1)': node 'cat' (concat): operand 'unsqueeze' has shape [B, 1, 4] but operand 'x' has shape [B, 4]; concat along axis 1 needs equal sizes on every other axis",
                "NS1007 (13,85): The graph is inconsistent at 'emb.forward(x.relu())': Embedding 'emb' reads 'relu', which is not a categorical input; the mirror reads an embedding as a product with a one-hot input, so its indices must be a forward parameter declared 'categorical' in the schema",
            },
            ModelSource.Diagnostics(r));
    }

    [Fact]
    public void NS1010_a_returned_width_that_disagrees_with_the_schema_output()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear fc = Linear(4, 3);

                public override Tensor forward(Tensor x) => fc.forward(x);
            """), "M", X4);
        Assert.Equal(
            new[] { "NS1010 (12,49): Returned value 'fc.forward(x)' is bound to schema output 'y' of width 2 in model.features.yaml, but has shape [B, 3]" },
            ModelSource.Diagnostics(r));

        // The model could be followed: the graph is there for the analyzers, with the error beside it.
        Assert.NotNull(r.Graph);
        Assert.True(r.HasErrors);
    }

    [Fact]
    public void NS1011_and_NS1012_unassigned_module_fields_and_tensors_registered_directly()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear never;
                private readonly Parameter scale = nn.Parameter(torch.arange(4));
                private readonly Tensor running = torch.zeros(4).cumsum(0);
                private readonly Tensor unset;

                public override Tensor forward(Tensor x) => x;
            """), "M", """
            model: M
            version: 1
            inputs:
              x:
                features: [a, b, c, d]
            """);
        Assert.Equal(
            new[]
            {
                "NS1011 (10,29): Module field 'never' of 'M' is not assigned by an initialiser or the constructor; RegisterComponents() skips it, so it has no state_dict entries",
                "NS1012 (11,32): Field 'scale' registers a parameter on 'M' whose shape the reader cannot tell; create it with torch.zeros, ones, randn, rand, empty or eye (optionally inside Parameter(...)) with sizes known at build time",
                "NS1012 (12,29): Field 'running' registers a buffer on 'M' whose shape the reader cannot tell; create it with torch.zeros, ones, randn, rand, empty or eye (optionally inside Parameter(...)) with sizes known at build time",
            },
            ModelSource.Diagnostics(r));
        Assert.Equal(DiagnosticSeverity.Warning, r.Diagnostics[0].Severity);
        Assert.Null(r.Graph);
    }

    [Fact]
    public void NS1013_a_class_without_forward()
    {
        var r = ModelSource.Read("""
            public abstract class M : Module<Tensor, Tensor>
            {
                protected M() : base("M") => RegisterComponents();
            }
            """, "M", X4);
        Assert.Equal(new[] { "NS1013 (6,23): 'M' declares no forward method with tensor parameters" + NotBuilt }, ModelSource.Diagnostics(r));
    }

    [Fact]
    public void A_nested_module_used_twice_reports_a_problem_in_its_forward_once()
    {
        var r = ModelSource.Read("""
            public sealed class Block : Module<Tensor, Tensor>
            {
                public Block() : base("Block") => RegisterComponents();

                public override Tensor forward(Tensor x) => x.log1p();
            }

            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Block a = new Block();
                private readonly Block b = new Block();

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor x) => b.forward(a.forward(x));
            }
            """, "M", X4);
        Assert.Equal(
            new[] { "NS1002 (10,49): Unsupported call 'x.log1p()' in Block.forward: the graph treats it as the identity (an elementwise function keeps every element's feature set); feature sets stay exact but numeric execution of the graph differs" },
            ModelSource.Diagnostics(r).Where(d => d.StartsWith("NS1002", System.StringComparison.Ordinal)).ToArray());
    }

    [Fact]
    public void NS1014_a_module_class_that_never_calls_RegisterComponents()
    {
        var r = ModelSource.Read("""
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 2);

                public M() : base("M")
                {
                }

                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """, "M", X4);
        Assert.Equal(
            new[] { "NS1014 (6,21): 'M' has module fields but its constructor never calls RegisterComponents(); TorchSharp registers none of them, so a checkpoint's state_dict will not have the names the reader derives" },
            ModelSource.Diagnostics(r));
        Assert.NotNull(r.Graph);
    }

    [Fact]
    public void NS1002_in_place_options_are_read_as_out_of_place()
    {
        var r = ModelSource.Read(Model("""
                private readonly ReLU act = ReLU(inplace: true);

                public override Tensor forward(Tensor x) => functional.dropout(act.forward(x), 0.5, training, inplace: true);
            """), "M", X4.Replace("features: [p, q]", "features: [p, q, r, s]", System.StringComparison.Ordinal));
        const string Fallback = "an out-of-place operation (later reads of its input see the input unchanged; an activation or dropout keeps feature sets either way)";
        Assert.Equal(
            new[]
            {
                $"NS1002 (10,47): Unsupported option 'true' in M constructor: the graph treats it as {Fallback}; feature sets stay exact but numeric execution of the graph differs",
                $"NS1002 (12,108): Unsupported option 'true' in M.forward: the graph treats it as {Fallback}; feature sets stay exact but numeric execution of the graph differs",
            },
            ModelSource.Diagnostics(r));
        Assert.Equal(new[] { "relu = relu(x) -> [B, 4]", "dropout = dropout 0.5(relu) -> [B, 4]" }, ModelSource.Nodes(r.Graph!));
    }

    [Fact]
    public void NS1001_a_state_dict_name_used_twice()
    {
        var r = ModelSource.Read(Model("""
                private readonly Linear fc = Linear(4, 2);
                [TorchSharp.Utils.ComponentName(Name = "fc")]
                private readonly Linear other = Linear(4, 2);
                private readonly Sequential seq = Sequential(("a", ReLU()), ("a", Tanh()));

                public override Tensor forward(Tensor x) => fc.forward(x);
            """), "M", X4);
        Assert.Equal(
            new[]
            {
                "NS1001 (12,29): Unsupported field 'other = Linear(4, 2)' in M: state_dict name 'fc' is already used by another field (TorchSharp rejects it)" + NotBuilt,
                "NS1001 (13,65): Unsupported module '(\"a\", Tanh())' in M constructor: child name 'a' is used twice in this Sequential (TorchSharp rejects it)" + NotBuilt,
            },
            ModelSource.Diagnostics(r));
    }
}
