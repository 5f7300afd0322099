using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Generator.Reading;

/// <summary>Calls in forward: modules, torch functions, functional activations, tensor methods and indexing.</summary>
internal sealed partial class ForwardInterpreter
{
    /// <summary>Elementwise functions outside the IR: their output element has its input element's feature set.</summary>
    private static readonly HashSet<string> ElementwiseFallback = new(StringComparer.Ordinal)
    {
        "log1p", "expm1", "erf", "reciprocal",
    };

    private static readonly Dictionary<string, ActivationKind> Activations = new(StringComparer.Ordinal)
    {
        ["relu"] = ActivationKind.Relu,
        ["tanh"] = ActivationKind.Tanh,
        ["sigmoid"] = ActivationKind.Sigmoid,
        ["gelu"] = ActivationKind.Gelu,
        ["silu"] = ActivationKind.Silu,
        ["elu"] = ActivationKind.Elu,
        ["leaky_relu"] = ActivationKind.LeakyRelu,
        ["softplus"] = ActivationKind.Softplus,
        ["exp"] = ActivationKind.Exp,
        ["abs"] = ActivationKind.Abs,
        ["neg"] = ActivationKind.Neg,
        ["negative"] = ActivationKind.Neg,
        ["square"] = ActivationKind.Square,
        ["sin"] = ActivationKind.Sin,
        ["cos"] = ActivationKind.Cos,
        ["sqrt"] = ActivationKind.Sqrt,
        ["rsqrt"] = ActivationKind.Rsqrt,
        ["log"] = ActivationKind.Log,
    };

    /// <summary>Arguments by parameter name and in parameter order, defaults included (as Roslyn lists them).</summary>
    /// <summary>
    /// A call's arguments by parameter. TorchSharp names one role differently from function to function
    /// (<c>torch.cat(…, dim)</c> but <c>torch.concatenate(…, axis)</c>; <c>mean(dimensions)</c> but <c>amax(dims)</c>),
    /// so lookups take every alias, and a role the method has under none of them is reported, never read as absent.
    /// </summary>
    private sealed class CallArgs
    {
        /// <summary>Parameter names of the reduction axes, in every spelling TorchSharp uses.</summary>
        public static readonly string[] DimNames = ["dim", "dims", "dimensions", "axis", "dim0", "dim1", "dim2"];

        private readonly Dictionary<string, IArgumentOperation> _byName = new(StringComparer.Ordinal);

        public CallArgs(IInvocationOperation call)
        {
            Site = call.Syntax;
            Method = call.TargetMethod;
            Ordered = call.Arguments.Where(a => a.Parameter is not null).OrderBy(a => a.Parameter!.Ordinal).ToList();
            foreach (var a in Ordered)
            {
                _byName[a.Parameter!.Name] = a;
            }
        }

        public SyntaxNode Site { get; }

        public IMethodSymbol Method { get; }

        public IReadOnlyList<IArgumentOperation> Ordered { get; }

        /// <summary>The argument of the first parameter named one of <paramref name="names"/>; null when the method has none.</summary>
        public IArgumentOperation? this[params string[] names]
        {
            get
            {
                foreach (var name in names)
                {
                    if (_byName.TryGetValue(name, out var a))
                    {
                        return a;
                    }
                }

                return null;
            }
        }

        public bool Has(params string[] names) => this[names] is not null;

        /// <summary>Every argument whose parameter is a reduction axis (<c>sum(dim0, dim1)</c> has two), in order.</summary>
        public IReadOnlyList<IArgumentOperation> Dims => Ordered.Where(a => Array.IndexOf(DimNames, a.Parameter!.Name) >= 0).ToList();

        public string Signature => Method.ContainingType.Name + "." + Method.Name + "(" + string.Join(", ", Method.Parameters.Select(p => p.Name)) + ")";
    }

    private Value Invocation(IInvocationOperation call, Frame f)
    {
        var method = call.TargetMethod;
        var type = method.ContainingType;
        if (method.Name is "forward" or "call" && !method.IsStatic && TorchSymbols.IsModule(type) && call.Instance is not null)
        {
            var receiver = Eval(call.Instance, f);
            if (receiver is PoisonValue)
            {
                return Poison;
            }

            if (receiver is not ModuleValue module)
            {
                return Unsupported(call.Syntax, "call", f.Where, "the reader calls modules held in fields only");
            }

            var args = new CallArgs(call);
            return CallModule(module.Node, args.Ordered.Select(a => Eval(a.Value, f)).ToList(), call.Syntax, FirstArgumentSyntax(call), f, method);
        }

        if (IsInPlace(method))
        {
            return InPlace(call, f);
        }

        // modules.Select(m => m.call(x)): the lambda once per child of a ModuleList or Sequential, as a list.
        if (method.Name == "Select" && method.IsExtensionMethod && call.Arguments.Length == 2
            && Eval(call.Arguments[0].Value, f) is ModuleValue { Node: ContainerNode children }
            && ModuleTreeReader.Unwrap(call.Arguments[1].Value) is IDelegateCreationOperation { Target: IAnonymousFunctionOperation lambda }
            && lambda.Symbol.Parameters.Length == 1 && lambda.Body.Operations.Length == 1 && lambda.Body.Operations[0] is IReturnOperation { ReturnedValue: { } body })
        {
            var items = ImmutableArray.CreateBuilder<Value>();
            foreach (var child in children.Children)
            {
                f.Locals[lambda.Symbol.Parameters[0]] = new ModuleValue(child);
                var item = Eval(body, f);
                if (item is PoisonValue)
                {
                    return Poison;
                }

                items.Add(item);
            }

            return new ListValue(items.ToImmutable());
        }

        // list.ToList() / ToArray() of a list the reader holds: the same list.
        if (method.Name is "ToList" or "ToArray" && method.IsExtensionMethod && call.Arguments.Length == 1 && Eval(call.Arguments[0].Value, f) is ListValue held)
        {
            return held;
        }

        // get_buffer("mask") / get_parameter("w") on the module itself: a tensor it registered under that name.
        if (method.Name is "get_buffer" or "get_parameter" && TorchSymbols.IsModule(type) && call.Instance is null or IInstanceReferenceOperation && call.Arguments.Length == 1)
        {
            return Eval(call.Arguments[0].Value, f) is ConstValue { Value: string key } && f.Module.NamedTensors.TryGetValue(key, out var registered)
                ? Build(call.Syntax, () => _b.Call(registered.Path)[0])
                : Unsupported(call.Syntax, "call", f.Where, $"{method.Name} needs the constant name of a tensor this module registers");
        }

        // scope.MoveToOuter(y) / scope.Detach(y) on a dispose scope: the tensor itself (memory, not values).
        if (method.Name is "MoveToOuter" or "Detach" && type is { Name: "DisposeScope" } && TorchSymbols.IsTorchSharpType(type) && call.Arguments.Length == 1
            && TorchSymbols.IsTensor(call.Arguments[0].Value.Type))
        {
            return Eval(call.Arguments[0].Value, f);
        }

        if (TorchSymbols.IsTorch(type))
        {
            return TorchFunction(call, f);
        }

        if (TorchSymbols.IsFunctional(type))
        {
            return Functional(call, f);
        }

        if (TorchSymbols.IsTensor(type) && !method.IsStatic && call.Instance is not null)
        {
            return TensorMethod(call, f);
        }

        if (TorchSymbols.IsTensorIndex(type))
        {
            return TensorIndexFactory(call, f);
        }

        if (type is { Name: "Math" or "MathF", ContainingNamespace.Name: "System" } && method.IsStatic)
        {
            return ScalarMath(call, f);
        }

        if (!TorchSymbols.IsTorchSharpType(type) && method.DeclaringSyntaxReferences.Length > 0 && method.MethodKind == MethodKind.Ordinary)
        {
            // A helper method of a module class (or a static helper anywhere in source): inlined like forward.
            var module = f.Module;
            if (!method.IsStatic)
            {
                if (call.Instance is not (null or IInstanceReferenceOperation))
                {
                    return Unsupported(call.Syntax, "call", f.Where, "the reader inlines helper methods of the module itself only");
                }

                method = Implementation(module.Type, method);
            }

            var args = new CallArgs(call);
            return Invoke(module, method, args.Ordered.Select(a => Eval(a.Value, f)).ToList(), call.Syntax, f.Where);
        }

        return Unsupported(call.Syntax, "call", f.Where, $"the mirror has no rule for '{type?.Name}.{method.Name}'");
    }

    /// <summary>
    /// Math.Sqrt(d_model) and the like: a number when its arguments are known, otherwise a scalar the reader does not
    /// know; either way a factor without features (a scalar times a tensor keeps the tensor's sets).
    /// </summary>
    private Value ScalarMath(IInvocationOperation call, Frame f)
    {
        var args = call.Arguments.Select(a => Eval(a.Value, f)).ToList();
        if (args.Any(a => a is PoisonValue))
        {
            return Poison;
        }

        if (args.Any(a => a is TensorValue))
        {
            return Unsupported(call.Syntax, "call", f.Where, $"Math.{call.TargetMethod.Name} takes numbers; a tensor needs the torch function");
        }

        var values = new double[args.Count];
        for (var i = 0; i < args.Count; i++)
        {
            // A size read off a shape is a number here when it is constant (Math.Sqrt(k.size(-1)) with a known head size).
            var number = args[i] is DimValue { Dim.IsConstant: true } d ? new ConstValue(d.Dim.Constant) : args[i];
            if (number is not ConstValue c || !ConstantEvaluator.TryDouble(c.Value, out values[i]))
            {
                return new NonConstValue(null);
            }
        }

        double? result = (call.TargetMethod.Name, values.Length) switch
        {
            ("Sqrt", 1) => Math.Sqrt(values[0]),
            ("Pow", 2) => Math.Pow(values[0], values[1]),
            ("Exp", 1) => Math.Exp(values[0]),
            ("Log", 1) => Math.Log(values[0]),
            ("Abs", 1) => Math.Abs(values[0]),
            ("Max", 2) => Math.Max(values[0], values[1]),
            ("Min", 2) => Math.Min(values[0], values[1]),
            ("Floor", 1) => Math.Floor(values[0]),
            ("Ceiling", 1) => Math.Ceiling(values[0]),
            _ => null,
        };
        return result is { } r ? new ConstValue(ConstantEvaluator.Convert(r, call.Type)) : new NonConstValue(null);
    }

    /// <summary>
    /// x.add_(y), x.relu_(), x.mul_(s): the out-of-place op, and then every local of every method being read that holds
    /// x holds the result, as the shared tensor would after the change. Tensor methods only; other in-place calls
    /// (torch.nn.init.*_) have no value the graph can use.
    /// </summary>
    private Value InPlace(IInvocationOperation call, Frame f)
    {
        var name = call.TargetMethod.Name.Substring(0, call.TargetMethod.Name.Length - 1);
        if (!TorchSymbols.IsTensor(call.TargetMethod.ContainingType) || call.TargetMethod.IsStatic || call.Instance is null)
        {
            return Unsupported(call.Syntax, "call", f.Where, "in-place operations other than tensor methods (x.add_(y), x.relu_()) have no graph form");
        }

        if (Tensor(Eval(call.Instance, f), call.Instance.Syntax, f) is not { } x)
        {
            return Poison;
        }

        var args = call.Arguments.Where(a => a.ArgumentKind != ArgumentKind.DefaultValue).ToList();
        Value result;
        switch (name)
        {
            case "add" or "sub" or "mul" or "div" when args.Count >= 1:
            {
                var other = Eval(args[0].Value, f);

                // x.add_(y, alpha): x + alpha·y, exact when alpha is known at build time.
                if (name is "add" or "sub" && args.FirstOrDefault(a => a.Parameter?.Name == "alpha") is { } alpha)
                {
                    if (Eval(alpha.Value, f) is not ConstValue { Value: long or double } a || !ConstantEvaluator.TryDouble(a.Value, out var factor))
                    {
                        return Unsupported(call.Syntax, "call", f.Where, $"Tensor.{name}_ with an alpha not known at build time: the graph scales by numbers it knows");
                    }

                    if (other is not TensorValue scaled)
                    {
                        return other is PoisonValue ? Poison : Unsupported(call.Syntax, "call", f.Where, $"Tensor.{name}_ with alpha: the reader scales a tensor operand");
                    }

                    other = Build(call.Syntax, () => _b.Scale(scaled.GraphValue, factor));
                }

                result = Binary(
                    name switch { "add" => BinaryOperatorKind.Add, "sub" => BinaryOperatorKind.Subtract, "mul" => BinaryOperatorKind.Multiply, _ => BinaryOperatorKind.Divide },
                    new TensorValue(x),
                    other,
                    call.Syntax,
                    f);
                break;
            }

            case var n when Activations.TryGetValue(n, out var kind) && args.Count == 0:
                result = Build(call.Syntax, () => _b.Activation(x, kind));
                break;
            case var n when ElementwiseFallback.Contains(n) && args.Count == 0:
                result = Elementwise(call.Instance, call.Syntax, f);
                break;
            default:
                return Unsupported(call.Syntax, "call", f.Where, $"the mirror has no rule for Tensor.{call.TargetMethod.Name}");
        }

        if (result is TensorValue changed)
        {
            foreach (var frame in _frames)
            {
                foreach (var local in frame.Locals.Where(l => l.Value is TensorValue t && t.GraphValue.Ref == x.Ref).Select(l => l.Key).ToList())
                {
                    frame.Locals[local] = changed;
                }
            }
        }

        return result;
    }

    private static SyntaxNode? FirstArgumentSyntax(IInvocationOperation call) =>
        call.Arguments.Where(a => a.Parameter is not null && a.ArgumentKind != ArgumentKind.DefaultValue).OrderBy(a => a.Parameter!.Ordinal).FirstOrDefault()?.Value.Syntax;

    /// <summary>The override of a virtual helper in the concrete module class.</summary>
    private static IMethodSymbol Implementation(INamedTypeSymbol type, IMethodSymbol method)
    {
        if (!(method.IsVirtual || method.IsAbstract || method.IsOverride))
        {
            return method;
        }

        for (var t = type; t is not null; t = t.BaseType)
        {
            foreach (var m in t.GetMembers(method.Name).OfType<IMethodSymbol>())
            {
                for (var o = m; o is not null; o = o.OverriddenMethod)
                {
                    if (SymbolEqualityComparer.Default.Equals(o.OriginalDefinition, method.OriginalDefinition) && !m.IsAbstract)
                    {
                        return m;
                    }
                }
            }
        }

        return method;
    }

    // ---------------------------------------------------------------- modules

    private Value CallModule(ModuleNode node, IReadOnlyList<Value> args, SyntaxNode site, SyntaxNode? inputSyntax, Frame f, IMethodSymbol? called = null)
    {
        switch (node)
        {
            case FailedNode { Unassigned: true }:
                return Unsupported(site, "call", f.Where, $"module field '{node.Path}' is never assigned");
            case FailedNode:
                return Poison;
            case LayerNode layer:
                return CallLayer(layer, args, site, inputSyntax, f);
            case FunctionNode function:
            {
                var x = args.Count == 1 ? Tensor(args[0], site, f) : null;
                if (x is not { } v)
                {
                    return args.Count == 1 ? Poison : Unsupported(site, "call", f.Where, $"{function.Factory} takes one tensor");
                }

                return function.Function switch
                {
                    FunctionKind.Relu => Build(site, () => _b.Relu(v)),
                    FunctionKind.Tanh => Build(site, () => _b.Tanh(v)),
                    FunctionKind.Sigmoid => Build(site, () => _b.Sigmoid(v)),
                    FunctionKind.Gelu => Build(site, () => _b.Activation(v, ActivationKind.Gelu)),
                    FunctionKind.Dropout => Build(site, () => _b.Dropout(v, function.P)),
                    FunctionKind.Flatten => Build(site, () => _b.Flatten(v, Axis(function.StartDim), Axis(function.EndDim))),
                    FunctionKind.Op => Build(site, () => _b.Apply(function.Op!, v)),
                    FunctionKind.Softmax or FunctionKind.LogSoftmax => Build(site, () => _b.Softmax(v, Axis(function.StartDim), function.Function == FunctionKind.LogSoftmax)),
                    _ => new TensorValue(v),
                };
            }

            case ContainerNode { IsSequential: true } sequential:
            {
                if (args.Count != 1)
                {
                    return Unsupported(site, "call", f.Where, "Sequential takes one tensor");
                }

                var value = args[0];
                foreach (var child in sequential.Children)
                {
                    value = CallModule(child, [value], site, inputSyntax, f);
                    if (value is PoisonValue)
                    {
                        return Poison;
                    }
                }

                return value;
            }

            case ContainerNode list:
                return Unsupported(site, "call", f.Where, $"{list.Kind} '{list.Path}' is not callable; index it or enumerate it with foreach");
            case AttentionNode attention:
                return CallAttention(attention, args, site, f);
            case EncoderLayerNode layer:
                return CallEncoder([layer], layer.Kind, args, site, f);
            case EncoderNode stack:
                return CallEncoder(stack.Layers, stack.Kind, args, site, f);
            case UserModuleNode user:
            {
                // The overload the call names when it is one of the module's own (forward(x, steps: 3)), else its forward.
                var forward = called is { Name: "forward", DeclaringSyntaxReferences.Length: > 0 } && SymbolEqualityComparer.Default.Equals(called.ContainingType, user.Type)
                    ? called
                    : FindForward(user.Type);
                return forward is null
                    ? Unsupported(site, "call", f.Where, $"'{user.Type.Name}' declares no forward in source")
                    : Invoke(user, forward, args, site, f.Where);
            }

            default:
                return Unsupported(site, "call", f.Where, "the reader has no rule for this module");
        }
    }

    /// <summary>
    /// bag.call(input, offsets): the offsets must be a forward parameter without a schema entry (data the mirror
    /// does not see; it becomes an offsets input on the next pass). Per-sample weights are not followed.
    /// </summary>
    private Value CallBag(LayerNode layer, GraphValue x, IReadOnlyList<Value> args, SyntaxNode site, Frame f)
    {
        if (args.Count > 3 || (args.Count == 3 && args[2] is not ConstValue { Value: null }))
        {
            return Unsupported(site, "call", f.Where, $"{layer.Factory}: per-sample weights are not followed; the mirror reads an EmbeddingBag as a sum, mean or max of its rows");
        }

        switch (args[1])
        {
            case ConstValue { Value: null }:
                return Build(site, () => _b.Call(layer.Path, x)[0]);
            case PendingValue p:
                if (!DiscoveredStates.ContainsKey(p.Parameter.Name))
                {
                    DiscoveredStates.Add(p.Parameter.Name, (Shape.Of(Dim.Batch), InputRole.Offsets));
                }

                return Poison;
            case TensorValue t when _b.Role(t.GraphValue) == InputRole.Offsets:
                return Build(site, () => _b.Call(layer.Path, x, t.GraphValue)[0]);
            default:
                return Unsupported(site, "call", f.Where, $"{layer.Factory}: the offsets must be a forward parameter of their own, without a schema entry; the reader cannot follow offsets computed in forward");
        }
    }

    private static int Axis(long axis) => axis > int.MaxValue ? int.MaxValue : axis < int.MinValue ? int.MinValue : (int)axis;

    private Value CallLayer(LayerNode layer, IReadOnlyList<Value> args, SyntaxNode site, SyntaxNode? inputSyntax, Frame f)
    {
        if (args.Count == 0)
        {
            return Unsupported(site, "call", f.Where, $"{layer.Factory} needs an input");
        }

        if (args[0] is PendingValue pending && InputSizeCheck(layer) is { } size && _reportedPending.Add(pending.Parameter.Name))
        {
            // NS1004 where the layer's size tells what the missing schema input must be: the code fix adds the input
            // with that many features.
            _d.Add(
                ModelDiagnostics.ForwardParameterWithoutSchemaInput,
                pending.Parameter.Locations[0],
                ReaderDiagnostic.GraphNotBuilt,
                null,
                SchemaProperties(
                    new DiagnosticProperty("Input", pending.Parameter.Name),
                    new DiagnosticProperty("Module", layer.Path),
                    new DiagnosticProperty("Expected", size.Expected.ToString(System.Globalization.CultureInfo.InvariantCulture))),
                pending.Parameter.Name,
                _schemaName);
            return Poison;
        }

        var input = Tensor(args[0], site, f);
        if (input is not { } x)
        {
            return Poison;
        }

        if (InputSizeMismatch(layer, x, site, inputSyntax))
        {
            return Poison;
        }

        if (layer.Spec is EmbeddingSpec embedding && (x.Ref.Index != 0 || !_categorical.Contains(x.Ref.Source)) && !(embedding.Bag is null && _b.IsPositions(x)))
        {
            return ShapeError(site, $"{embedding.Kind} '{layer.Path}' reads '{x.Ref}', which is not a categorical input; the mirror reads an embedding as a product with a one-hot input, so its indices must be a forward parameter declared 'categorical' in the schema");
        }

        if (layer.Spec is EmbeddingSpec { Bag: not null } && args.Count > 1)
        {
            return CallBag(layer, x, args, site, f);
        }

        if (layer.Spec is not RecurrentSpec recurrent)
        {
            if (args.Count > 1)
            {
                return Unsupported(site, "call", f.Where, $"{layer.Factory} takes one tensor");
            }

            return Build(site, () => _b.Call(layer.Path, x)[0]);
        }

        // The initial state: null or absent, (h0, c0) for an LSTM, h0 for a GRU. A forward parameter without a
        // schema input in that position is a state input, shaped [layers x directions, batch, hidden_size].
        var operands = new List<GraphValue> { x };
        var stateArg = args.Count > 1 ? args[1] : ConstValue.Null;
        var expected = StateShape(recurrent, x.Shape);
        var failed = false;

        void State(Value v)
        {
            switch (v)
            {
                case TensorValue t:
                    operands.Add(t.GraphValue);
                    break;
                case PendingValue p when expected is not null:
                    if (!DiscoveredStates.ContainsKey(p.Parameter.Name))
                    {
                        DiscoveredStates.Add(p.Parameter.Name, (expected, InputRole.State));
                    }

                    failed = true;
                    break;
                default:
                    failed = true;
                    _ = Tensor(v, site, f);
                    break;
            }
        }

        switch (stateArg)
        {
            case ConstValue { Value: null }:
                break;
            case TupleValue { Items.Length: 2 } pair when recurrent.Cell == RecurrentKind.Lstm:
                State(pair.Items[0]);
                State(pair.Items[1]);
                break;
            case TupleValue:
                return Unsupported(site, "call", f.Where, "an LSTM's initial state is a (h0, c0) tuple");
            default:
                if (recurrent.Cell == RecurrentKind.Lstm && stateArg is not PoisonValue)
                {
                    return Unsupported(site, "call", f.Where, "an LSTM's initial state is a (h0, c0) tuple");
                }

                State(stateArg);
                break;
        }

        if (failed)
        {
            return Poison;
        }

        try
        {
            return new TupleValue(_b.Call(layer.Path, operands.ToArray()).Select(v => (Value)new TensorValue(v)).ToImmutableArray());
        }
        catch (GraphException e)
        {
            _d.Shape(site, e);
            return Poison;
        }
    }

    /// <summary>[layers x directions, batch, hidden] for a batched input, [layers x directions, hidden] otherwise.</summary>
    private static Shape? StateShape(RecurrentSpec r, Shape x) => x.Rank switch
    {
        3 => Shape.Of(Dim.Of(r.NumLayers * r.Directions), x[r.BatchFirst ? 0 : 1], Dim.Of(r.HiddenSize)),
        2 => Shape.Of(r.NumLayers * r.Directions, r.HiddenSize),
        _ => null,
    };

    /// <summary>The factory argument a layer's input size comes from, its value, and the input axis it must equal.</summary>
    private static (string Parameter, long Expected, int Axis)? SizeCheck(LayerNode layer) => layer.Spec switch
    {
        LinearSpec l => ("inputSize", l.InFeatures, -1),
        RecurrentSpec r => ("inputSize", r.InputSize, -1),
        Conv1dSpec conv => ("in_channels", conv.InChannels, -2),
        BatchNorm1dSpec n => ("num_features", n.NumFeatures, 1),
        Conv2dSpec conv => ("in_channels", conv.InChannels, -3),
        BatchNorm2dSpec n => ("num_features", n.NumFeatures, 1),
        LayerNormSpec { NormalizedShape.Count: 1 } n => ("normalized_shape", n.NormalizedShape[0], -1),
        _ => null,
    };

    /// <summary>
    /// The size check of a layer whose checked axis is the feature axis of a plain schema input (<c>[B, width]</c>:
    /// axis 1 is the last), so the width a schema input must have to feed it is known; null otherwise (Conv1d
    /// reads channels from axis -2).
    /// </summary>
    private static (string Parameter, long Expected, int Axis)? InputSizeCheck(LayerNode layer) =>
        SizeCheck(layer) is { Axis: -1 or 1 } c ? c : null;

    /// <summary>Code-fix properties, with <c>SchemaPath</c> (the schema file to edit) when a schema was given.</summary>
    private DiagnosticProperty[] SchemaProperties(params DiagnosticProperty[] properties) =>
        _schemaPath is null ? properties : [.. properties, new DiagnosticProperty("SchemaPath", _schemaPath)];

    /// <summary>NS1006: a layer whose declared input size disagrees with a constant size of its input.</summary>
    private bool InputSizeMismatch(LayerNode layer, GraphValue x, SyntaxNode site, SyntaxNode? inputSyntax)
    {
        if (SizeCheck(layer) is not { } c)
        {
            return false;
        }

        var axis = c.Axis < 0 ? x.Shape.Rank + c.Axis : c.Axis;
        if (axis < 0 || axis >= x.Shape.Rank || !x.Shape[axis].IsConstant || x.Shape[axis].Constant == c.Expected)
        {
            return false;
        }

        var actual = x.Shape[axis].Constant.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var argument = layer.Arguments.TryGetValue(c.Parameter, out var a) ? a : null;
        var expected = c.Expected.ToString(System.Globalization.CultureInfo.InvariantCulture);
        List<DiagnosticProperty> properties = [new("Module", layer.Path), new("Argument", c.Parameter), new("Size", actual), new("Expected", expected)];

        // The input is a dense schema input itself (through calls and Sequential, but no op): the schema could grow
        // to the layer's size instead, which the code fix for the schema offers.
        if (x.Ref.Index == 0 && _featureInputs.Contains(x.Ref.Source) && axis == x.Shape.Rank - 1)
        {
            properties.Add(new DiagnosticProperty("SchemaInput", x.Ref.Source));
        }

        _d.Add(
            ModelDiagnostics.LayerInputSizeMismatch,
            site.GetLocation(),
            ReaderDiagnostic.GraphNotBuilt,
            argument is null ? null : [argument.GetLocation()],
            SchemaProperties([.. properties]),
            layer.Path,
            layer.Factory,
            c.Parameter,
            expected,
            inputSyntax is null ? x.Ref.ToString() : ReaderText.Of(inputSyntax),
            x.Shape.ToString());
        return true;
    }

    // ---------------------------------------------------------------- torch.*, functional.*

    private Value TorchFunction(IInvocationOperation call, Frame f)
    {
        var name = call.TargetMethod.Name;
        var args = new CallArgs(call);
        var where = "torch." + name;
        switch (name)
        {
            case "cat":
            case "concat":
            case "concatenate":
            case "stack":
            {
                var tensors = TensorList(args["tensors"], call.Syntax, f);
                var dim = LongArg(args, "dim", where, f, "axis");
                if (tensors is null || dim is null)
                {
                    return Poison;
                }

                return name == "stack"
                    ? Build(call.Syntax, () => _b.Stack(Axis(dim.Value), tensors))
                    : Build(call.Syntax, () => _b.Concat(Axis(dim.Value), tensors));
            }

            case "tanh":
            case "sigmoid":
                return Activation(args.Ordered[0], Activations[name], call.Syntax, f);
            case "mean":
            case "sum":
                return Reduce(args["input"], name == "mean" ? ReduceKind.Mean : ReduceKind.Sum, args, call.Syntax, where, f);
            case "narrow":
                return Narrow(args["input"]!.Value, args, call.Syntax, where, f);
            case "matmul" or "mm" or "bmm":
            {
                var left = args.Ordered.Count == 2 ? Tensor(Eval(args.Ordered[0].Value, f), call.Syntax, f) : null;
                var right = args.Ordered.Count == 2 ? Tensor(Eval(args.Ordered[1].Value, f), call.Syntax, f) : null;
                return left is { } l && right is { } r ? Build(call.Syntax, () => _b.MatMul(l, r)) : Poison;
            }

            case "permute":
                return Tensor(Eval(args.Ordered[0].Value, f), call.Syntax, f) is { } input ? Permute(input, args, call.Syntax, where, f) : Poison;
            case "zeros" or "ones" or "full" or "zeros_like" or "ones_like":
                return Fill(call, name, where, f);
            case "arange":
                return Arange(args, call.Syntax, f);
            case "NewDisposeScope":
                return ScopeValue.Instance;
            default:
                // torch.sqrt(x), torch.exp(x), ...: the elementwise functions the graph has.
                if (Activations.TryGetValue(name, out var elementwise) && args.Ordered.Count == 1)
                {
                    return Activation(args.Ordered[0], elementwise, call.Syntax, f);
                }

                if (ElementwiseFallback.Contains(name) && args.Ordered.Count == 1)
                {
                    return Elementwise(args.Ordered[0].Value, call.Syntax, f);
                }

                return Unsupported(call.Syntax, "call", f.Where, $"the mirror has no rule for torch.{name}");
        }
    }

    private Value Functional(IInvocationOperation call, Frame f)
    {
        var name = call.TargetMethod.Name;
        var args = new CallArgs(call);
        var where = "functional." + name;
        if (args["inplace"] is { } inplace && Eval(inplace.Value, f) is ConstValue { Value: true })
        {
            _d.Approximated(inplace.Value.Syntax, "option", f.Where, ModuleTreeReader.InPlaceFallback);
        }

        if (Activations.TryGetValue(name, out var kind) && args.Ordered.Count > 0)
        {
            return Activation(args.Ordered[0], kind, call.Syntax, f);
        }

        switch (name)
        {
            case "softmax":
            case "log_softmax":
            {
                var x = Tensor(Eval(args.Ordered[0].Value, f), call.Syntax, f);
                var dim = LongArg(args, "dim", where, f);
                return x is { } v && dim is { } d ? Build(call.Syntax, () => _b.Softmax(v, Axis(d), name == "log_softmax")) : Poison;
            }

            case "dropout":
            {
                var x = Tensor(Eval(args.Ordered[0].Value, f), call.Syntax, f);
                var p = DoubleArg(args, "p", where, f);
                return x is { } v && p is { } q ? Build(call.Syntax, () => _b.Dropout(v, q)) : Poison;
            }

            case "max_pool1d" or "max_pool2d" or "avg_pool1d" or "avg_pool2d":
            {
                var x = Tensor(Eval(args.Ordered[0].Value, f), call.Syntax, f);
                var pool = name.StartsWith("max", StringComparison.Ordinal) ? PoolKind.Max : PoolKind.Avg;
                object? Get(string n, params string[] aliases) => args[[n, .. aliases]] is { } a && Eval(a.Value, f) is ConstValue c ? c.Value : null;
                bool Constant(string n, params string[] aliases) => args[[n, .. aliases]] is not { } a || Eval(a.Value, f) is ConstValue;
                if (!new[] { "kernel_size", "stride", "padding", "dilation" }.All(n => Constant(n, n == "stride" ? "strides" : n)))
                {
                    return Unsupported(call.Syntax, "call", f.Where, $"{where}: kernel_size, stride, padding and dilation must be constants");
                }

                var (op, problem) = WindowArguments.Pool(
                    pool,
                    name.EndsWith("2d", StringComparison.Ordinal) ? 2 : 1,
                    Get("kernel_size"),
                    Get("stride", "strides"),
                    Get("padding"),
                    Get("dilation"),
                    Get("ceil_mode") is true,
                    Get("count_include_pad") is not false,
                    Get("divisor_override"));
                return op is null ? Unsupported(call.Syntax, "call", f.Where, $"{where}: {problem}") : x is { } v ? Build(call.Syntax, () => _b.Apply(op, v)) : Poison;
            }

            case "adaptive_avg_pool1d" or "adaptive_avg_pool2d" or "adaptive_max_pool1d" or "adaptive_max_pool2d":
            {
                var x = Tensor(Eval(args.Ordered[0].Value, f), call.Syntax, f);
                var size = args["output_size"] is { } a && Eval(a.Value, f) is ConstValue c ? c.Value : null;
                var op = WindowArguments.Adaptive(name.Contains("max") ? PoolKind.Max : PoolKind.Avg, name.EndsWith("2d", StringComparison.Ordinal) ? 2 : 1, size);
                return op is null ? Unsupported(call.Syntax, "call", f.Where, $"{where}: output_size must be a constant") : x is { } v ? Build(call.Syntax, () => _b.Apply(op, v)) : Poison;
            }

            default:
                return Unsupported(call.Syntax, "call", f.Where, $"the mirror has no rule for functional.{name}");
        }
    }

    private Value Activation(IArgumentOperation argument, ActivationKind kind, SyntaxNode site, Frame f) =>
        Tensor(Eval(argument.Value, f), site, f) is { } x ? Build(site, () => _b.Activation(x, kind)) : Poison;

    private Value Elementwise(IOperation operand, SyntaxNode site, Frame f)
    {
        var x = Tensor(Eval(operand, f), site, f);
        if (x is null)
        {
            return Poison;
        }

        _d.Approximated(site, "call", f.Where, "the identity (an elementwise function keeps every element's feature set)");
        return new TensorValue(x.Value);
    }

    // ---------------------------------------------------------------- tensor methods

    private Value TensorMethod(IInvocationOperation call, Frame f)
    {
        var name = call.TargetMethod.Name;
        var receiver = Eval(call.Instance!, f);
        if (receiver is PendingValue pending)
        {
            return PendingUse(pending);
        }

        if (Tensor(receiver, call.Instance!.Syntax, f) is not { } x)
        {
            return Poison;
        }

        var args = new CallArgs(call);
        var where = "Tensor." + name;
        switch (name)
        {
            case "view":
            case "reshape":
            {
                var dims = Dims(args["shape"]!, where, f);
                return dims is null ? Poison : Build(call.Syntax, () => _b.Reshape(x, dims));
            }

            case "flatten":
            {
                var start = LongArg(args, "start_dim", where, f);
                var end = LongArg(args, "end_dim", where, f);
                return start is { } s && end is { } e ? Build(call.Syntax, () => _b.Flatten(x, Axis(s), Axis(e))) : Poison;
            }

            case "unsqueeze":
                return LongArg(args, "dim", where, f) is { } u ? Build(call.Syntax, () => _b.Unsqueeze(x, Axis(u))) : Poison;
            case "squeeze":
            {
                var dim = args["dim"] is { } a ? Eval(a.Value, f) : ConstValue.Null;
                if (dim is ConstValue { Value: null })
                {
                    return SqueezeAll(x, call.Syntax, f);
                }

                return LongArg(args, "dim", where, f) is { } sq ? Build(call.Syntax, () => _b.Squeeze(x, Axis(sq))) : Poison;
            }

            case "narrow":
                return Narrow(null, args, call.Syntax, where, f, x);
            case "matmul" or "mm" or "bmm":
                return args.Ordered.Count == 1 && Tensor(Eval(args.Ordered[0].Value, f), call.Syntax, f) is { } other
                    ? Build(call.Syntax, () => _b.MatMul(x, other))
                    : Poison;
            case "permute":
                return Permute(x, args, call.Syntax, where, f);
            case "transpose":
            {
                var d0 = LongArg(args, "dim0", where, f);
                var d1 = LongArg(args, "dim1", where, f);
                return d0 is { } a0 && d1 is { } a1 ? Build(call.Syntax, () => _b.Transpose(x, Axis(a0), Axis(a1))) : Poison;
            }

            // scores.masked_fill(mask, -inf): every output element is the input's or a constant, so its features are a
            // subset of the input's; the mask (often a buffer slice compared with 0) carries none and is not read.
            // x.pow(2) is an exact square, pow(0.5) a square root, pow(-0.5) its reciprocal, pow(1) the identity;
            // another exponent keeps every element's features (NS1002: the numbers differ).
            case "pow" when call.Arguments.Length == 1:
            {
                var exponent = Eval(call.Arguments[0].Value, f);
                if (exponent is ConstValue { Value: long or double } e && ConstantEvaluator.TryDouble(e.Value, out var p) && p is 1 or 2 or 0.5 or -0.5)
                {
                    return p == 1 ? new TensorValue(x)
                        : Build(call.Syntax, () => _b.Activation(x, p == 2 ? ActivationKind.Square : p == 0.5 ? ActivationKind.Sqrt : ActivationKind.Rsqrt));
                }

                if (exponent is TensorValue)
                {
                    return Unsupported(call.Syntax, "call", f.Where, "Tensor.pow with a tensor exponent: the mirror reads pow by a number");
                }

                _d.Approximated(call.Syntax, "call", f.Where, "the identity (an elementwise function keeps every element's feature set)");
                return new TensorValue(x);
            }

            case "masked_fill":
                _d.Approximated(call.Syntax, "call", f.Where, "the identity of the tensor it fills (the mask and the fill value carry no features)");
                return new TensorValue(x);

            // Freeing a tensor's memory does not change any value the graph holds.
            case "Dispose" when args.Ordered.Count == 0:
                return ConstValue.Null;

            // Layout, device and dtype changes keep every element's features: identity in the mirror.
            case "contiguous":
            case "MoveToOuterDisposeScope":
            case "to" or "to_type" or "type" or "float" or "double" or "long" or "int" or "half" or "bfloat16" or "cpu" or "cuda" or "detach" or "clone" or "alias":
                return new TensorValue(x);
            case "softmax":
            case "log_softmax":
                return LongArg(args, "dim", where, f) is { } sd ? Build(call.Syntax, () => _b.Softmax(x, Axis(sd), name == "log_softmax")) : Poison;
            case "max" when args.Has("dim"):
            {
                var values = Reduce(x, ReduceKind.Max, args, call.Syntax, where, f);
                return values is PoisonValue
                    ? Poison
                    : new TupleValue([values, new OpaqueValue(call.Syntax, "value", "the indexes of max(dim) are integer positions, which the graph IR does not hold")]);
            }

            case "max":
            case "mean":
            case "sum":
            {
                var kind = name == "max" ? ReduceKind.Max : name == "mean" ? ReduceKind.Mean : ReduceKind.Sum;
                return Reduce(x, kind, args, call.Syntax, where, f);
            }

            // x.size(): the shape, as x.shape.
            case "size" when call.Arguments.Length == 0:
                return new ShapeValue(x.Shape);
            case "size":
            {
                var dim = LongArg(args, "dim", where, f);
                if (dim is null)
                {
                    return Poison;
                }

                var axis = dim.Value < 0 ? dim.Value + x.Shape.Rank : dim.Value;
                return axis >= 0 && axis < x.Shape.Rank ? new DimValue(x.Shape[(int)axis]) : ShapeError(call.Syntax, $"size({dim.Value}) is out of range for shape {x.Shape}");
            }

            default:
                if (Activations.TryGetValue(name, out var activation) && args.Ordered.Count == 0)
                {
                    return Build(call.Syntax, () => _b.Activation(x, activation));
                }

                if (ElementwiseFallback.Contains(name) && args.Ordered.Count == 0)
                {
                    _d.Approximated(call.Syntax, "call", f.Where, "the identity (an elementwise function keeps every element's feature set)");
                    return new TensorValue(x);
                }

                return Unsupported(call.Syntax, "call", f.Where, $"the mirror has no rule for Tensor.{name}");
        }
    }

    private Value SqueezeAll(GraphValue x, SyntaxNode site, Frame f)
    {
        if (x.Shape.Dims.Any(d => !d.IsConstant))
        {
            _d.Approximated(site, "call", f.Where, "squeezing only the axes of constant size 1 (symbolic sizes are assumed not to be 1)");
        }

        Value value = new TensorValue(x);
        for (var axis = x.Shape.Rank - 1; axis >= 0; axis--)
        {
            if (x.Shape[axis] == Dim.Of(1) && value is TensorValue t)
            {
                var a = axis;
                value = Build(site, () => _b.Squeeze(t.GraphValue, a));
            }
        }

        return value;
    }

    private Value Narrow(IOperation? input, CallArgs args, SyntaxNode site, string where, Frame f, GraphValue? receiver = null)
    {
        var x = receiver ?? (input is null ? null : Tensor(Eval(input, f), site, f));
        var dim = LongArg(args, "dim", where, f);
        var start = LongArg(args, "start", where, f);
        var length = LongArg(args, "length", where, f);
        return x is { } v && dim is { } d && start is { } s && length is { } l ? Build(site, () => _b.Narrow(v, Axis(d), s, l)) : Poison;
    }

    private Value Reduce(IArgumentOperation? input, ReduceKind kind, CallArgs args, SyntaxNode site, string where, Frame f)
    {
        var x = input is null ? null : Tensor(Eval(input.Value, f), site, f);
        return x is { } v ? Reduce(v, kind, args, site, where, f) : Poison;
    }

    /// <summary>
    /// A reduction over the axes the call names (one, a list, or several parameters as in <c>sum(dim0, dim1)</c>;
    /// applied from the last), or over every axis for the overloads that take none (<c>mean()</c>, <c>sum(type)</c>).
    /// An overload with parameters the reader does not know is reported: reading it as "every axis" would silently
    /// reduce over the batch.
    /// </summary>
    private Value Reduce(GraphValue x, ReduceKind kind, CallArgs args, SyntaxNode site, string where, Frame f)
    {
        var dimArgs = args.Dims;
        var keepdim = args["keepdim"];
        var known = new HashSet<string>(StringComparer.Ordinal) { "input", "keepdim", "type", "dtype", "out" };
        if (dimArgs.Count == 0 && args.Method.Parameters.Any(p => !known.Contains(p.Name)))
        {
            MissingParameter(args, "dim", f);
            return Poison;
        }

        var axes = new List<long>();
        if (dimArgs.Count == 0)
        {
            axes.AddRange(Enumerable.Range(0, x.Shape.Rank).Select(i => (long)i));
        }

        foreach (var dims in dimArgs)
        {
            if (!ReductionAxes(dims, axes, where, f))
            {
                return Poison;
            }
        }

        return Reduce(x, kind, axes, keepdim, site, where, f);
    }

    /// <summary>Adds the constant axes of one dimension argument (a long, a long[] or a collection of them).</summary>
    private bool ReductionAxes(IArgumentOperation dims, List<long> axes, string where, Frame f)
    {
        var d = Eval(dims.Value, f);
        switch (d)
        {
            case ConstValue { Value: long l }:
                axes.Add(l);
                return true;
            case ConstValue { Value: long[] array }:
                axes.AddRange(array);
                return true;
            case ListValue list:
                for (var i = 0; i < list.Items.Length; i++)
                {
                    if (list.Items[i] is not ConstValue { Value: long a })
                    {
                        NonConstant(list.Items[i], ElementSyntax(dims.Value, i), dims.Parameter?.Name ?? "dim", where);
                        return false;
                    }

                    axes.Add(a);
                }

                return true;
            case PoisonValue:
                return false;
            default:
                NonConstant(d, dims.Value.Syntax, dims.Parameter?.Name ?? "dim", where);
                return false;
        }
    }

    private Value Reduce(GraphValue x, ReduceKind kind, List<long> axes, IArgumentOperation? keepdim, SyntaxNode site, string where, Frame f)
    {
        var keep = false;
        if (keepdim is not null)
        {
            var k = Eval(keepdim.Value, f);
            if (k is not ConstValue { Value: bool b })
            {
                NonConstant(k, keepdim.Value.Syntax, "keepdim", where);
                return Poison;
            }

            keep = b;
        }

        var rank = x.Shape.Rank;
        var normalized = new List<int>();
        foreach (var a in axes)
        {
            var n = a < 0 ? a + rank : a;
            if (n < 0 || n >= rank)
            {
                return ShapeError(site, $"{kind.ToString().ToLowerInvariant()}: axis {a} is out of range for operand '{x.Ref}' of shape {x.Shape}");
            }

            if (!normalized.Contains((int)n))
            {
                normalized.Add((int)n);
            }
        }

        Value value = new TensorValue(x);
        foreach (var axis in normalized.OrderByDescending(a => a))
        {
            var current = ((TensorValue)value).GraphValue;
            value = Build(site, () => _b.Reduce(current, kind, axis, keep));
            if (value is PoisonValue)
            {
                return Poison;
            }
        }

        return value;
    }

    // ---------------------------------------------------------------- arguments

    /// <summary>A constant integer argument (any alias); a method without such a parameter is reported, not skipped.</summary>
    private long? LongArg(CallArgs args, string name, string callee, Frame f, params string[] aliases)
    {
        if (args[[name, .. aliases]] is { } a)
        {
            return Long(a.Value, a.Parameter?.Name ?? name, callee, f);
        }

        MissingParameter(args, name, f);
        return null;
    }

    /// <summary>
    /// The reader expected a parameter the TorchSharp method does not have (an overload or release it does not know):
    /// an NS1003 naming the signature it found, so no path ends without a graph and without a diagnostic.
    /// </summary>
    private void MissingParameter(CallArgs args, string name, Frame f) =>
        _d.Unsupported(args.Site, "call", f.Where, $"the reader expects a parameter '{name}' and found {args.Signature}");

    private double? DoubleArg(CallArgs args, string name, string callee, Frame f)
    {
        if (args[name] is not { } a)
        {
            return null;
        }

        var v = Eval(a.Value, f);
        if (v is ConstValue c && ConstantEvaluator.TryDouble(c.Value, out var d))
        {
            return d;
        }

        if (v is not PoisonValue)
        {
            NonConstant(v, a.Value.Syntax, name, callee);
        }

        return null;
    }

    private GraphValue[]? TensorList(IArgumentOperation? argument, SyntaxNode site, Frame f)
    {
        if (argument is null)
        {
            return null;
        }

        var v = Eval(argument.Value, f);
        if (v is PoisonValue)
        {
            return null;
        }

        if (v is not ListValue list)
        {
            Unsupported(argument.Value.Syntax, "argument", f.Where, "the tensors must be listed in the call ([a, b] or new[] { a, b })");
            return null;
        }

        var result = new GraphValue[list.Items.Length];
        var ok = true;
        for (var i = 0; i < result.Length; i++)
        {
            if (Tensor(list.Items[i], ElementSyntax(argument.Value, i), f) is { } t)
            {
                result[i] = t;
            }
            else
            {
                ok = false;
            }
        }

        return ok ? result : null;
    }

    /// <summary>
    /// torch.arange(T) or arange(start, T) in forward, T a number or a size read off a shape: positions, read only by
    /// an Embedding (a learned position table). A step other than 1 is refused.
    /// </summary>
    private Value Arange(CallArgs args, SyntaxNode site, Frame f)
    {
        Dim? Size(string name)
        {
            if (args[name] is not { } a)
            {
                return null;
            }

            return Eval(a.Value, f) switch
            {
                ConstValue { Value: long n } => Dim.Of(n),
                ConstValue { Value: double d } when d == Math.Floor(d) => Dim.Of((long)d),
                DimValue d => d.Dim,
                _ => null,
            };
        }

        var stop = Size("stop");
        var start = args.Has("start") ? Size("start") : Dim.Of(0);
        var step = args.Has("step") ? Size("step") : Dim.Of(1);
        if (stop is null || start is not { IsConstant: true } from || step is not { IsConstant: true, Constant: 1 })
        {
            return Unsupported(site, "call", f.Where, "torch.arange: the reader follows arange(end) or arange(start, end) with step 1, start a number and end a number or a size read off a shape");
        }

        return Build(site, () => _b.Arange(from.Constant, stop));
    }

    /// <summary>
    /// torch.zeros(layers, x.shape[0], hidden) and ones, full, zeros_like, ones_like in forward: a constant tensor (an
    /// initial recurrent state, a bias of ones) with sizes that are constants or sizes read off shapes.
    /// </summary>
    private Value Fill(IInvocationOperation call, string name, string where, Frame f)
    {
        var args = call.Arguments.Where(a => a.ArgumentKind != ArgumentKind.DefaultValue).OrderBy(a => a.Parameter?.Ordinal ?? 0).ToList();
        double value = name.StartsWith("ones", StringComparison.Ordinal) ? 1 : 0;
        var dims = new List<Dim>();
        foreach (var argument in args)
        {
            var parameter = argument.Parameter?.Name;
            var v = Eval(argument.Value, f);
            if (v is PoisonValue)
            {
                return Poison;
            }

            if (name.EndsWith("_like", StringComparison.Ordinal) && parameter == "input")
            {
                if (Tensor(v, argument.Value.Syntax, f) is not { } like)
                {
                    return Poison;
                }

                dims.AddRange(like.Shape.Dims);
                continue;
            }

            if (parameter == "value" || parameter == "fill_value")
            {
                if (v is not ConstValue c || !ConstantEvaluator.TryDouble(c.Value, out value))
                {
                    return Unsupported(call.Syntax, "call", f.Where, $"{where}: the fill value must be a number known at build time");
                }

                continue;
            }

            if (!TorchSymbols.IsSizeType(argument.Parameter?.Type))
            {
                continue;
            }

            switch (v)
            {
                case ConstValue { Value: long n }:
                    dims.Add(Dim.Of(n));
                    break;
                case ConstValue { Value: long[] many }:
                    dims.AddRange(many.Select(Dim.Of));
                    break;
                case DimValue d:
                    dims.Add(d.Dim);
                    break;
                case ListValue list when list.Items.All(i => i is ConstValue { Value: long } or DimValue):
                    dims.AddRange(list.Items.Select(i => i is DimValue d ? d.Dim : Dim.Of((long)((ConstValue)i).Value!)));
                    break;
                default:
                    NonConstant(v, argument.Value.Syntax, parameter ?? "size", where);
                    return Poison;
            }
        }

        return dims.Count == 0
            ? Unsupported(call.Syntax, "call", f.Where, $"{where}: the reader needs the tensor's sizes")
            : Build(call.Syntax, () => _b.Fill(value, dims.ToArray()));
    }

    /// <summary>permute(dims): constant axes, negative ones counted from the end.</summary>
    private Value Permute(GraphValue x, CallArgs args, SyntaxNode site, string where, Frame f)
    {
        if (args["permutation"] is not { } permutation || Dims(permutation, where, f) is not { } dims)
        {
            return Poison;
        }

        if (dims.Any(d => !d.IsConstant))
        {
            return Unsupported(site, "call", f.Where, $"{where}: the axes of a permutation must be constants");
        }

        return Build(site, () => _b.Permute(x, dims.Select(d => (int)(d.Constant < 0 ? d.Constant + x.Shape.Rank : d.Constant)).ToArray()));
    }

    /// <summary>view/reshape sizes: constants, -1, and sizes read off shapes.</summary>
    private Dim[]? Dims(IArgumentOperation argument, string callee, Frame f)
    {
        var v = Eval(argument.Value, f);
        var items = v switch
        {
            ListValue l => l.Items,
            ConstValue { Value: long[] a } => a.Select(x => (Value)new ConstValue(x)).ToImmutableArray(),
            _ => [v],
        };
        var dims = new Dim[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            switch (items[i])
            {
                case ConstValue { Value: long l }:
                    dims[i] = Dim.Of(l);
                    break;
                case DimValue d:
                    dims[i] = d.Dim;
                    break;
                case PoisonValue:
                    return null;
                default:
                    NonConstant(items[i], ElementSyntax(argument.Value, i), argument.Parameter?.Name ?? "shape", callee);
                    return null;
            }
        }

        return dims;
    }

    // ---------------------------------------------------------------- indexing

    private Value TensorIndexFactory(IInvocationOperation call, Frame f)
    {
        var args = new CallArgs(call);
        var name = call.TargetMethod.Name;

        Dim? symbolicStop = null;
        long? Optional(string parameter, out bool failed)
        {
            failed = false;
            if (args[parameter] is not { } a)
            {
                return null;
            }

            var v = Eval(a.Value, f);
            switch (v)
            {
                case ConstValue { Value: null }:
                    return null;

                // Slice(null, x.shape[0]): a stop known only at run time (a position table cut to the sequence length).
                case DimValue { Dim.IsConstant: false } d when name == "Slice" && parameter == "stop":
                    symbolicStop = d.Dim;
                    return null;
                case ConstValue { Value: long l }:
                    return l;
                case DimValue { Dim.IsConstant: true } d:
                    return d.Dim.Constant;
                default:
                    failed = true;
                    if (v is not PoisonValue)
                    {
                        NonConstant(v, a.Value.Syntax, parameter, "TensorIndex." + name);
                    }

                    return null;
            }
        }

        switch (name)
        {
            case "Slice":
            {
                var start = Optional("start", out var f1);
                var stop = Optional("stop", out var f2);
                var step = Optional("step", out var f3);
                return f1 || f2 || f3 ? Poison : new IndexValue(IndexKind.Slice, start, stop, step) { SymbolicStop = symbolicStop };
            }

            case "Single":
            {
                var index = Optional("index", out var failed);
                return failed ? Poison : index is null ? new IndexValue(IndexKind.NewAxis) : new IndexValue(IndexKind.Single, index);
            }

            default:
                return Unsupported(call.Syntax, "index", f.Where, $"TensorIndex.{name} is not read");
        }
    }

    /// <summary>
    /// <c>x[i, TensorIndex.Slice(a, b), ...]</c>: indices apply to leading axes, or after an Ellipsis to trailing ones;
    /// a slice becomes a slice node, an integer a narrow of length 1 and a squeeze.
    /// </summary>
    private Value Index(TensorValue x, IPropertyReferenceOperation op, Frame f)
    {
        var indices = new List<IndexValue>();
        foreach (var arg in op.Arguments)
        {
            var v = Eval(arg.Value, f);
            var items = v is ListValue l ? l.Items : [v];
            for (var k = 0; k < items.Length; k++)
            {
                var item = items[k];
                switch (item)
                {
                    case IndexValue index:
                        indices.Add(index);
                        break;
                    case ConstValue { Value: long i }:
                        indices.Add(new IndexValue(IndexKind.Single, i));
                        break;
                    case PoisonValue:
                        return Poison;
                    default:
                        NonConstant(item, ElementSyntax(arg.Value, k), "index", "indexer");
                        return Poison;
                }
            }
        }

        if (indices.Any(i => i.Kind == IndexKind.NewAxis))
        {
            return Unsupported(op.Syntax, "index", f.Where, "new axes in an index are not read; use unsqueeze");
        }

        var ellipsis = indices.FindIndex(i => i.Kind == IndexKind.Ellipsis);
        if (indices.Count(i => i.Kind == IndexKind.Ellipsis) > 1)
        {
            return ShapeError(op.Syntax, "an index has more than one Ellipsis");
        }

        var rank = x.Shape.Rank;
        var consuming = indices.Count(i => i.Kind != IndexKind.Ellipsis);
        if (consuming > rank)
        {
            return ShapeError(op.Syntax, $"{consuming} indices for operand '{x.GraphValue.Ref}' of shape {x.Shape}");
        }

        var placed = new List<(int Axis, IndexValue Index)>();
        for (var i = 0; i < indices.Count; i++)
        {
            if (ellipsis < 0 || i < ellipsis)
            {
                placed.Add((i, indices[i]));
            }
            else if (i > ellipsis)
            {
                placed.Add((rank - (indices.Count - i), indices[i]));
            }
        }

        Value value = x;
        foreach (var (axis, index) in placed.OrderByDescending(p => p.Axis))
        {
            var current = ((TensorValue)value).GraphValue;
            switch (index.Kind)
            {
                case IndexKind.Colon:
                    continue;
                case IndexKind.Slice when index.SymbolicStop is { } stop:
                {
                    // [start:T] with a constant start >= 0 and step 1: a narrow whose length is known at run time.
                    if (index.Start is < 0 || index.Step is not (null or 1))
                    {
                        return Unsupported(op.Syntax, "index", f.Where, $"a slice that stops at {stop}, a size known only at run time, must start at a position >= 0 and step by 1");
                    }

                    var from = index.Start ?? 0;
                    value = Build(op.Syntax, () => _b.Narrow(current, axis, from, stop - Dim.Of(from)));
                    break;
                }

                case IndexKind.Slice when index.Start is null && index.Stop is null && index.Step is null or 1:
                    continue;
                case IndexKind.Slice:
                    value = Build(op.Syntax, () => _b.Slice(current, axis, index.Start, index.Stop, index.Step ?? 1));
                    break;
                case IndexKind.Single:
                {
                    var d = current.Shape[axis];
                    var start = index.Start!.Value < 0 && d.IsConstant ? index.Start.Value + d.Constant : index.Start.Value;
                    value = Build(op.Syntax, () => _b.Squeeze(_b.Narrow(current, axis, start, 1), axis));
                    break;
                }
            }

            if (value is PoisonValue)
            {
                return Poison;
            }
        }

        return value;
    }
}
