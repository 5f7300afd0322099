using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// Reads a TorchSharp model class into the graph IR (DESIGN.md section 4).
/// <list type="bullet">
/// <item>Modules come from the class's fields, in TorchSharp's registration order (see <see cref="ModuleTreeReader"/>);
/// sizes must be compile-time constants.</item>
/// <item>Inputs are forward's parameters, bound to schema inputs by name: a dense input is
/// <c>[B, width]</c>, or <c>[B, N, width]</c> with <c>set: true</c>; a categorical input <c>[B]</c> or <c>[B, N]</c>.
/// <c>N</c> (<see cref="SetSymbol"/>) is one symbol shared by every set input, because the schema does not say which
/// set axes coincide (a set input and its categorical types usually do). A parameter without a schema input is a
/// recurrent state, shaped by the LSTM or GRU it feeds.</item>
/// <item>Outputs are forward's return value: one tensor or a tuple. Binding rule: when the name of at least one
/// returned element (an explicit tuple element name, else the return type's element name, else the returned local or
/// parameter) equals a schema output's name, elements are bound by name; otherwise by position. Elements left over
/// (e.g. recurrent states) are state outputs, named as above or <c>output{i}</c>.</item>
/// </list>
/// </summary>
public static class ModelReader
{
    /// <summary>The symbol of the set axis of every <c>set: true</c> input.</summary>
    public const string SetSymbol = "N";

    public static ModelReadResult Read(Compilation compilation, INamedTypeSymbol modelClass, FeatureSchema? schema, CancellationToken cancellationToken)
    {
        _ = compilation ?? throw new ArgumentNullException(nameof(compilation));
        _ = modelClass ?? throw new ArgumentNullException(nameof(modelClass));
        if (modelClass.DeclaringSyntaxReferences.Length == 0)
        {
            throw new ArgumentException($"'{modelClass.Name}' has no declaration in source", nameof(modelClass));
        }

        try
        {
            return new Reading(compilation, modelClass, schema, cancellationToken).Run();
        }
        catch (InsufficientExecutionStackException)
        {
            // Roslyn's binder or our reader ran out of stack on code nested thousands deep: a diagnostic, never a
            // crash of the compiler the generator runs in.
            var bag = new DiagnosticBag();
            bag.Unsupported(
                modelClass.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken),
                "class",
                modelClass.Name,
                "its code nests too deeply to read (expressions thousands of levels deep)");
            return new ModelReadResult(modelClass.Name, null, EquatableArray<GraphModule>.Empty, bag.ToArray(), EquatableArray<SourceMapEntry>.Empty);
        }
    }

    private sealed class Reading
    {
        private readonly INamedTypeSymbol _class;
        private readonly FeatureSchema? _schema;
        private readonly CancellationToken _ct;
        private readonly SemanticModels _models;
        private readonly string _schemaName;
        private readonly List<SourceMapEntry> _sourceMap = [];

        public Reading(Compilation compilation, INamedTypeSymbol modelClass, FeatureSchema? schema, CancellationToken ct)
        {
            _class = modelClass;
            _schema = schema;
            _ct = ct;
            _models = new SemanticModels(compilation);
            _schemaName = schema is null ? "the feature schema (none was given)" : schema.Path;
        }

        public ModelReadResult Run()
        {
            var name = _class.Name;
            var treeDiagnostics = new DiagnosticBag();
            var classSyntax = _class.DeclaringSyntaxReferences[0].GetSyntax(_ct);
            Map(SourceMapKind.Class, name, _class.Locations[0]);
            var sizes = new SizeContext(_models, treeDiagnostics, _schemaName, _ct);
            var root = new ModuleTreeReader(_models, treeDiagnostics, sizes, _ct).ReadRoot(_class, classSyntax, _schema);
            var layers = ModuleTreeReader.Layers(root).ToList();
            foreach (var layer in layers)
            {
                Map(SourceMapKind.Module, layer.Path, layer.Site.GetLocation());
            }

            var modules = layers.Select(l => new GraphModule(l.Path, l.Spec)).ToEquatableArray();
            var widthSites = WidthSiteReader.Of(layers, _models, _class, _schema).ToEquatableArray();
            var forward = ForwardInterpreter.FindForward(_class);
            if (forward is null)
            {
                treeDiagnostics.Add(ModelDiagnostics.ForwardNotFound, _class.Locations[0], ReaderDiagnostic.GraphNotBuilt, null, null, name);
                return new ModelReadResult(name, null, modules, treeDiagnostics.ToArray(), _sourceMap.ToEquatableArray(), widthSites);
            }

            Map(SourceMapKind.Forward, forward.Name, forward.Locations[0]);

            // Pass after pass until no new state shape is learnt: a state's shape (or an EmbeddingBag's offsets) is
            // known only once the layer it feeds is reached with a real input, which may itself depend on an earlier state.
            var known = new Dictionary<string, (Shape Shape, InputRole Role)>(StringComparer.Ordinal);
            Pass pass;
            while (true)
            {
                pass = new Pass(this, root, forward, layers, known);
                pass.Execute();
                var learnt = pass.Interpreter.DiscoveredStates.Where(kv => !known.ContainsKey(kv.Key)).ToList();
                if (learnt.Count == 0)
                {
                    break;
                }

                foreach (var kv in learnt)
                {
                    known.Add(kv.Key, kv.Value);
                }
            }

            _sourceMap.AddRange(pass.SourceMap);
            if (pass.Graph is null && !treeDiagnostics.ToArray().Concat(pass.Diagnostics.ToArray()).Any(d => d.Fallback == ReaderDiagnostic.GraphNotBuilt))
            {
                // No path may end without a graph and without a diagnostic ("1 error (listed above)" with none listed):
                // should one still be missed, the user gets a construct diagnostic at forward rather than silence.
                pass.Diagnostics.Unsupported(
                    forward.DeclaringSyntaxReferences[0].GetSyntax(_ct),
                    "method",
                    name + "." + forward.Name,
                    "the reader stopped without building a graph and without a more specific reason; this is a reader bug worth reporting with the model");
            }

            var diagnostics = Merge(treeDiagnostics, pass.Diagnostics);
            var graph = diagnostics.Any(d => d.Fallback == ReaderDiagnostic.GraphNotBuilt) ? null : pass.Graph;
            return new ModelReadResult(name, graph, modules, diagnostics, _sourceMap.ToEquatableArray(), widthSites);
        }

        private static EquatableArray<ReaderDiagnostic> Merge(DiagnosticBag first, DiagnosticBag second)
        {
            var seen = new HashSet<ReaderDiagnostic>();
            return first.ToArray().Concat(second.ToArray()).Where(seen.Add).ToEquatableArray();
        }

        private void Map(SourceMapKind kind, string name, Location location) =>
            _sourceMap.Add(new SourceMapEntry(kind, name, ReaderLocation.From(location)));

        /// <summary>One reading of forward with a fresh builder.</summary>
        private sealed class Pass
        {
            private readonly Reading _r;
            private readonly UserModuleNode _root;
            private readonly IMethodSymbol _forward;
            private readonly List<LayerNode> _layers;
            private readonly IReadOnlyDictionary<string, (Shape Shape, InputRole Role)> _known;
            private readonly GraphBuilder _b;

            public Pass(Reading reading, UserModuleNode root, IMethodSymbol forward, List<LayerNode> layers, IReadOnlyDictionary<string, (Shape Shape, InputRole Role)> known)
            {
                _r = reading;
                _root = root;
                _forward = forward;
                _layers = layers;
                _known = known;
                _b = new GraphBuilder(reading._class.Name);
                Interpreter = new ForwardInterpreter(reading._models, _b, Diagnostics, reading._schemaName, reading._schema?.Path, reading._ct);
            }

            public DiagnosticBag Diagnostics { get; } = new();

            public ForwardInterpreter Interpreter { get; }

            public ModelGraph? Graph { get; private set; }

            public List<SourceMapEntry> SourceMap { get; } = [];

            private string Where => _r._class.Name + "." + _forward.Name;

            /// <summary>Whether forward's body names <paramref name="parameter"/> anywhere.</summary>
            private bool Mentioned(IParameterSymbol parameter)
            {
                var syntax = _forward.DeclaringSyntaxReferences[0].GetSyntax(_r._ct);
                var model = _r._models.Get(syntax.SyntaxTree);
                return syntax.DescendantNodes().OfType<IdentifierNameSyntax>().Any(id =>
                    id.Identifier.ValueText == parameter.Name
                    && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(id, _r._ct).Symbol, parameter));
            }

            public void Execute()
            {
                foreach (var layer in _layers)
                {
                    _b.Module(layer.Path, layer.Spec);
                }

                var arguments = Inputs();
                if (arguments is null)
                {
                    return;
                }

                var returned = Interpreter.Invoke(_root, _forward, arguments, _forward.DeclaringSyntaxReferences[0].GetSyntax(_r._ct), Where);
                if (Interpreter.DiscoveredStates.Keys.Any(k => !_known.ContainsKey(k)))
                {
                    // Values fed by a state learnt in this pass were left unread; the next pass reads them.
                    return;
                }

                foreach (var p in _forward.Parameters)
                {
                    // A parameter the reader never evaluated may still be named in forward, past a construct it could
                    // not follow (an operand after an unsupported one): NS1008 is for parameters forward never names.
                    if (arguments[p.Ordinal] is PendingValue && !Interpreter.UsedParameters.Contains(p.Name) && !Mentioned(p))
                    {
                        Diagnostics.Add(ModelDiagnostics.UnusedForwardParameter, p.Locations[0], "left out of the graph", null, null, p.Name, _r._schemaName);
                    }
                }

                if (returned is PoisonValue || Diagnostics.GraphFailed)
                {
                    return;
                }

                Outputs(returned);
                if (Diagnostics.GraphFailed)
                {
                    return;
                }

                try
                {
                    Graph = _b.Build();
                }
                catch (GraphException e)
                {
                    Diagnostics.Shape(_forward.DeclaringSyntaxReferences[0].GetSyntax(_r._ct), e);
                }
            }

            private List<Value>? Inputs()
            {
                var schema = _r._schema;
                var arguments = new List<Value>();
                var ok = true;
                foreach (var p in _forward.Parameters)
                {
                    SourceMap.Add(new SourceMapEntry(SourceMapKind.Input, p.Name, ReaderLocation.From(p.Locations[0])));
                    var input = schema?.FindInput(p.Name);
                    if (!TorchSymbols.IsTensor(p.Type) || (input is null && p.HasExplicitDefaultValue && p.ExplicitDefaultValue is null && !_known.ContainsKey(p.Name)))
                    {
                        // forward(Tensor x, bool causal = true) or (Tensor x, Tensor? mask = null): read as called
                        // with the default, as a caller that passes only the graph's inputs calls it.
                        if (p.HasExplicitDefaultValue)
                        {
                            arguments.Add(new ConstValue(ConstantEvaluator.Convert(ConstantEvaluator.Normalize(p.ExplicitDefaultValue), p.Type)));
                            continue;
                        }

                        Diagnostics.Unsupported(p.DeclaringSyntaxReferences[0].GetSyntax(_r._ct), "parameter", Where, "a forward parameter that is not a tensor needs a default value (forward is read as called with it)");
                        ok = false;
                        arguments.Add(PoisonValue.Instance);
                        continue;
                    }

                    try
                    {
                        arguments.Add(input switch
                        {
                            { Kind: InputKind.Dense, Axes.Count: > 0 } => Dense(p.Name, input.FeatureAxis, input.Axes.Select(a => AxisDim(a, input.Width)).ToArray()),
                            { Kind: InputKind.Dense, IsSet: false } => Dense(p.Name, Dim.Batch, Dim.Of(input.Width)),
                            { Kind: InputKind.Dense, IsSet: true } => Dense(p.Name, Dim.Batch, Dim.Symbol(SetSymbol), Dim.Of(input.Width)),
                            { Kind: InputKind.Categorical, Axes.Count: > 0 } => Categorical(p.Name, input.Axes.Select(a => AxisDim(a, input.Width)).ToArray()),
                            { Kind: InputKind.Categorical, IsSet: false } => Categorical(p.Name, Dim.Batch),
                            { Kind: InputKind.Categorical, IsSet: true } => Categorical(p.Name, Dim.Batch, Dim.Symbol(SetSymbol)),
                            _ when _known.TryGetValue(p.Name, out var found) => new TensorValue(_b.Input(p.Name, found.Shape, found.Role, null)),
                            _ => new PendingValue(p),
                        });
                    }
                    catch (GraphException e)
                    {
                        Diagnostics.Shape(p.DeclaringSyntaxReferences[0].GetSyntax(_r._ct), e);
                        ok = false;
                        arguments.Add(PoisonValue.Instance);
                    }
                }

                if (schema is not null)
                {
                    foreach (var input in schema.Inputs)
                    {
                        if (!_forward.Parameters.Any(p => p.Name == input.Name))
                        {
                            Diagnostics.Add(
                                ModelDiagnostics.SchemaInputWithoutForwardParameter,
                                ReaderLocation.FromSchema(input.Location),
                                Format(ModelDiagnostics.SchemaInputWithoutForwardParameter, input.Name, schema.Path, Where),
                                "no graph input",
                                null,
                                null,
                                [input.Name, schema.Path, Where]);
                        }
                    }
                }

                return ok ? arguments : null;
            }

            private TensorValue Dense(string name, params Dim[] shape)
            {
                Interpreter.FeatureInput(name, shape.Length, -1);
                return new TensorValue(_b.FeatureInput(name, shape));
            }

            /// <summary>A feature input whose schema gives its axes (an image: features on the channel axis).</summary>
            private TensorValue Dense(string name, int featureAxis, Dim[] shape)
            {
                Interpreter.FeatureInput(name, shape.Length, featureAxis);
                return new TensorValue(_b.FeatureInputAt(name, featureAxis, shape));
            }

            /// <summary>An entry of a schema input's <c>axes</c>: batch, features (the width), a fixed size or a named size.</summary>
            private static Dim AxisDim(string axis, int width) => axis switch
            {
                "batch" => Dim.Batch,
                "features" => Dim.Of(width),
                _ when char.IsDigit(axis[0]) => Dim.Of(long.Parse(axis, System.Globalization.CultureInfo.InvariantCulture)),
                _ => Dim.Symbol(axis),
            };

            private TensorValue Categorical(string name, params Dim[] shape)
            {
                Interpreter.Categorical(name);
                return new TensorValue(_b.CategoricalInput(name, shape));
            }

            private static string Format(DiagnosticDescriptor d, params string[] args) =>
                string.Format(CultureInfo.InvariantCulture, d.MessageFormat.ToString(CultureInfo.InvariantCulture), args);

            private sealed record Element(string? Name, Value Value, SyntaxNode Syntax);

            private void Outputs(Value returned)
            {
                var site = Interpreter.RootReturn?.ReturnedValue ?? null;
                var siteSyntax = site?.Syntax ?? _forward.DeclaringSyntaxReferences[0].GetSyntax(_r._ct);
                var literal = ModuleTreeReader.Unwrap(site);
                var elements = new List<Element>();
                if (returned is TupleValue tuple)
                {
                    var typeNames = _forward.ReturnType is INamedTypeSymbol { IsTupleType: true } rt
                        ? rt.TupleElements.Select(e => e.IsExplicitlyNamedTupleElement ? e.Name : null).ToList()
                        : [];
                    for (var i = 0; i < tuple.Items.Length; i++)
                    {
                        string? name = i < typeNames.Count ? typeNames[i] : null;
                        var syntax = siteSyntax;
                        if (literal is ITupleOperation t && i < t.Elements.Length)
                        {
                            syntax = t.Elements[i].Syntax;
                            var explicitName = (t.Syntax as TupleExpressionSyntax)?.Arguments[i].NameColon?.Name.Identifier.ValueText;
                            name = explicitName ?? name ?? LocalName(t.Elements[i]);
                        }

                        elements.Add(new Element(name, tuple.Items[i], syntax));
                    }
                }
                else
                {
                    elements.Add(new Element(site is null ? null : LocalName(site), returned, siteSyntax));
                }

                var values = new List<GraphValue?>();
                foreach (var e in elements)
                {
                    switch (e.Value)
                    {
                        case TensorValue t:
                            values.Add(t.GraphValue);
                            break;
                        case PendingValue p:
                            Diagnostics.Add(ModelDiagnostics.ForwardParameterWithoutSchemaInput, p.Parameter.Locations[0], ReaderDiagnostic.GraphNotBuilt, null, null, p.Parameter.Name, _r._schemaName);
                            values.Add(null);
                            break;
                        case PoisonValue:
                            values.Add(null);
                            break;
                        case OpaqueValue o:
                            Diagnostics.Unsupported(o.Site, o.Kind, Where, o.Reason);
                            values.Add(null);
                            break;
                        default:
                            Diagnostics.Unsupported(e.Syntax, "return value", Where, "forward returns a tensor or a flat tuple of tensors");
                            values.Add(null);
                            break;
                    }
                }

                if (Diagnostics.GraphFailed)
                {
                    return;
                }

                if (values.Any(v => v is null))
                {
                    // Every unreadable value is reported where it arises; this guards the result's contract.
                    Diagnostics.Unsupported(siteSyntax, "return value", Where, "a returned value could not be read");
                    return;
                }

                var schema = _r._schema;
                var bound = new string?[elements.Count];
                if (schema is not null)
                {
                    var byName = elements.Any(e => e.Name is not null && schema.FindOutput(e.Name) is not null);
                    for (var i = 0; i < elements.Count; i++)
                    {
                        bound[i] = byName
                            ? (elements[i].Name is { } n && schema.FindOutput(n) is not null ? n : null)
                            : i < schema.Outputs.Count ? schema.Outputs[i].Name : null;
                    }

                    foreach (var output in schema.Outputs)
                    {
                        if (!bound.Contains(output.Name))
                        {
                            Diagnostics.Add(ModelDiagnostics.SchemaOutputNotReturned, siteSyntax.GetLocation(), "no graph output", null, null, output.Name, schema.Path, Where);
                        }
                    }
                }

                var used = new HashSet<string>(bound.Where(b => b is not null)!, StringComparer.Ordinal);
                for (var i = 0; i < elements.Count; i++)
                {
                    var value = values[i]!.Value;
                    if (bound[i] is { } outputName)
                    {
                        var width = schema!.FindOutput(outputName)!.Width;
                        var shape = value.Shape;
                        if (shape.Rank == 0 || shape[shape.Rank - 1] != Dim.Of(width))
                        {
                            Diagnostics.Add(
                                ModelDiagnostics.OutputWidthMismatch,
                                elements[i].Syntax.GetLocation(),
                                null,
                                null,
                                [new DiagnosticProperty("Output", outputName), new DiagnosticProperty("Width", width.ToString(CultureInfo.InvariantCulture))],
                                ReaderText.Of(elements[i].Syntax),
                                outputName,
                                width.ToString(CultureInfo.InvariantCulture),
                                schema.Path,
                                shape.ToString());
                        }

                        _b.Output(outputName, value, outputName);
                        SourceMap.Add(new SourceMapEntry(SourceMapKind.Output, outputName, ReaderLocation.From(elements[i].Syntax.GetLocation())));
                        continue;
                    }

                    var stateName = elements[i].Name ?? "output" + i.ToString(CultureInfo.InvariantCulture);
                    if (!IsIdentifier(stateName) || used.Contains(stateName))
                    {
                        stateName = "output" + i.ToString(CultureInfo.InvariantCulture);
                    }

                    for (var k = 1; used.Contains(stateName); k++)
                    {
                        stateName = "output" + i.ToString(CultureInfo.InvariantCulture) + "_" + k.ToString(CultureInfo.InvariantCulture);
                    }

                    used.Add(stateName);
                    _b.StateOutput(stateName, value);
                    SourceMap.Add(new SourceMapEntry(SourceMapKind.Output, stateName, ReaderLocation.From(elements[i].Syntax.GetLocation())));
                }
            }

            private static bool IsIdentifier(string name) =>
                name.Length > 0 && !char.IsDigit(name[0]) && name.All(c => char.IsLetterOrDigit(c) || c == '_');

            private static string? LocalName(IOperation op) => ModuleTreeReader.Unwrap(op) switch
            {
                ILocalReferenceOperation l => l.Local.Name,
                IParameterReferenceOperation p => p.Parameter.Name,
                _ => null,
            };
        }
    }
}
