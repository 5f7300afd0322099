using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// Follows <c>forward</c> (and the forwards and helper methods it calls) as straight-line code over Roslyn's
/// operation tree, building the graph with <see cref="GraphBuilder"/>. Every value is exact: tensors are graph
/// values, sizes are constants or dimensions read off shapes. What it cannot follow is an error at its location;
/// what it follows with a fallback is a warning that names the fallback.
/// </summary>
internal sealed partial class ForwardInterpreter
{
    private const int MaxCallDepth = 32;

    /// <summary>
    /// Expressions nested deeper are refused (NS1001) before the evaluator's recursion can exhaust the stack of the
    /// compiler it runs in; real forward code nests a few dozen levels at most.
    /// </summary>
    public const int MaxExpressionDepth = 256;

    private int _evalDepth;

    private readonly SemanticModels _models;
    private readonly GraphBuilder _b;
    private readonly DiagnosticBag _d;
    private readonly string _schemaName;
    private readonly CancellationToken _ct;
    private readonly HashSet<string> _reportedPending = new(StringComparer.Ordinal);
    private readonly HashSet<string> _categorical = new(StringComparer.Ordinal);
    private readonly HashSet<string> _featureInputs = new(StringComparer.Ordinal);
    /// <summary>Loop iterations unrolled so far in this read, and the most it may unroll.</summary>
    private int _unrolled;

    private const int MaxUnrolled = 4096;

    /// <summary>Frames of the methods being read, outermost first: an in-place op rebinds the tensor in all of them.</summary>
    private readonly List<Frame> _frames = [];

    private readonly Dictionary<string, (int Rank, int FeatureAxis)> _featureInputRanks = new(StringComparer.Ordinal);
    private readonly string? _schemaPath;
    private int _depth;

    public ForwardInterpreter(
        SemanticModels models,
        GraphBuilder builder,
        DiagnosticBag diagnostics,
        string schemaName,
        string? schemaPath,
        CancellationToken ct)
    {
        _models = models;
        _b = builder;
        _d = diagnostics;
        _schemaName = schemaName;
        _schemaPath = schemaPath;
        _ct = ct;
    }

    /// <summary>Declares a categorical graph input: only an Embedding call may read it.</summary>
    public void Categorical(string input) => _categorical.Add(input);

    /// <summary>Declares a dense graph input bound to the schema input of the same name (for NS1006's code-fix properties).</summary>
    /// <summary>A schema feature input of <paramref name="rank"/> axes, its features on <paramref name="featureAxis"/> (-1: last).</summary>
    public void FeatureInput(string input, int rank = 2, int featureAxis = -1)
    {
        _featureInputs.Add(input);
        _featureInputRanks[input] = (rank, featureAxis);
    }

    /// <summary>
    /// Inputs without a schema entry learnt in this pass from the layers pending parameters feed: recurrent states
    /// (shaped by the layer) and an EmbeddingBag's offsets.
    /// </summary>
    public Dictionary<string, (Shape Shape, InputRole Role)> DiscoveredStates { get; } = new(StringComparer.Ordinal);

    /// <summary>Forward parameters read at least once.</summary>
    public HashSet<string> UsedParameters { get; } = new(StringComparer.Ordinal);

    /// <summary>The return statement that ended the model's own forward.</summary>
    public IReturnOperation? RootReturn { get; private set; }

    private static readonly PoisonValue Poison = PoisonValue.Instance;

    private sealed class Frame
    {
        public Frame(UserModuleNode module, IMethodSymbol method)
        {
            Module = module;
            Method = method;
            Where = module.Type.Name + "." + method.Name;
        }

        public UserModuleNode Module { get; }

        public IMethodSymbol Method { get; }

        public string Where { get; }

        public Dictionary<ISymbol, Value> Locals { get; } = new(SymbolEqualityComparer.Default);
    }

    /// <summary>The forward of a module class: the nearest declaration named forward with a body in source.</summary>
    public static IMethodSymbol? FindForward(INamedTypeSymbol type)
    {
        for (var t = type; t is not null && !TorchSymbols.IsTorchSharpType(t); t = t.BaseType)
        {
            foreach (var m in t.GetMembers("forward").OfType<IMethodSymbol>())
            {
                if (!m.IsStatic && !m.IsAbstract && m.Parameters.Length > 0 && m.DeclaringSyntaxReferences.Length > 0)
                {
                    return m;
                }
            }
        }

        return null;
    }

    /// <summary>Runs a method of <paramref name="module"/> (its forward or a helper) with bound arguments.</summary>
    public Value Invoke(UserModuleNode module, IMethodSymbol method, IReadOnlyList<Value> arguments, SyntaxNode site, string where)
    {
        _ct.ThrowIfCancellationRequested();
        if (_depth >= MaxCallDepth)
        {
            return Unsupported(site, "call", where, "calls nest more than " + MaxCallDepth + " deep (recursion is not followed)");
        }

        var syntax = method.DeclaringSyntaxReferences.Length > 0 ? method.DeclaringSyntaxReferences[0].GetSyntax(_ct) : null;
        if (syntax is not MethodDeclarationSyntax
            || _models.Get(syntax.SyntaxTree).GetOperation(syntax, _ct) is not IMethodBodyOperation body
            || (body.BlockBody ?? body.ExpressionBody) is not { } block)
        {
            return Unsupported(site, "call", where, $"the body of '{method.Name}' is not available in source");
        }

        var frame = new Frame(module, method);
        for (var i = 0; i < method.Parameters.Length; i++)
        {
            frame.Locals[method.Parameters[i]] = i < arguments.Count ? arguments[i] : ConstValue.Null;
        }

        _depth++;
        _frames.Add(frame);
        try
        {
            var result = Exec(block, frame);
            if (result is null)
            {
                return Unsupported(syntax, "method", frame.Where, "it ends without returning a value");
            }

            return result;
        }
        finally
        {
            _frames.RemoveAt(_frames.Count - 1);
            _depth--;
        }
    }

    // ---------------------------------------------------------------- statements

    /// <summary>Executes a statement; a non-null result is the returned value (or poison after an unsupported statement).</summary>
    private Value? Exec(IOperation op, Frame f)
    {
        _ct.ThrowIfCancellationRequested();
        switch (op)
        {
            case IBlockOperation block:
                foreach (var s in block.Operations)
                {
                    var r = Exec(s, f);
                    if (r is not null)
                    {
                        return r;
                    }
                }

                return null;

            case IVariableDeclarationGroupOperation group:
                Declare(group, f);
                return null;

            case IUsingDeclarationOperation usingDeclaration:
                Declare(usingDeclaration.DeclarationGroup, f);
                return null;

            case IUsingOperation usingBlock:
                if (usingBlock.Resources is IVariableDeclarationGroupOperation resources)
                {
                    Declare(resources, f);
                }
                else if (Eval(usingBlock.Resources, f) is PoisonValue)
                {
                    return Poison;
                }

                return Exec(usingBlock.Body, f);

            case IExpressionStatementOperation statement:
                ExecExpression(statement.Operation, f);
                return null;

            case IReturnOperation ret when ret.ReturnedValue is not null:
                if (_depth == 1)
                {
                    RootReturn = ret;
                }

                return Eval(ret.ReturnedValue, f);

            case IForEachLoopOperation loop:
                return ForEach(loop, f);

            case IForLoopOperation loop when Counter(loop, f) is { } counter:
                return For(loop, counter, f);

            // if on a constant, a config value or whether an optional module exists: the reader takes the branch.
            case IConditionalOperation branch when Condition(branch.Condition, f) is { } taken:
                return taken ? Exec(branch.WhenTrue, f) : branch.WhenFalse is { } otherwise ? Exec(otherwise, f) : null;

            case IEmptyOperation:
            case ILocalFunctionOperation:
                return null;

            default:
                return Unsupported(op.Syntax, "statement", f.Where, StatementReason(op));
        }
    }

    private static string StatementReason(IOperation op) => op switch
    {
        IConditionalOperation => "the reader takes a branch only when its condition is known at build time (constants, constructor arguments the schema or defaults bind, whether an optional module was created)",
        ILoopOperation => "the reader unrolls foreach over a ModuleList or Sequential field and for loops whose counter runs between bounds known at build time",
        ISwitchOperation => "the reader follows straight-line code; a switch depends on values it does not know",
        IThrowOperation => "the reader follows straight-line code to a return",
        _ => "the reader has no rule for this statement",
    };

    private void Declare(IVariableDeclarationGroupOperation group, Frame f)
    {
        foreach (var declaration in group.Declarations)
        {
            foreach (var declarator in declaration.Declarators)
            {
                var init = declarator.Initializer ?? declaration.Initializer;
                if (init is not null)
                {
                    f.Locals[declarator.Symbol] = Eval(init.Value, f);
                }
            }
        }
    }

    private void ExecExpression(IOperation op, Frame f)
    {
        switch (op)
        {
            case ISimpleAssignmentOperation { Target: IFieldReferenceOperation field }:
                Assign(field, Poison, f);
                break;
            case ISimpleAssignmentOperation assignment:
                Assign(assignment.Target, Eval(assignment.Value, f), f);
                break;
            case IDeconstructionAssignmentOperation deconstruction:
            {
                var value = Eval(deconstruction.Value, f);
                if (value is ShapeValue shape)
                {
                    value = DeconstructShape(deconstruction, shape, f);
                }

                Assign(deconstruction.Target, value, f);
                break;
            }
            case ICompoundAssignmentOperation compound:
                Assign(compound.Target, Binary(compound.OperatorKind, Eval(compound.Target, f), Eval(compound.Value, f), compound.Syntax, f), f);
                break;
            // outputs.Add(head.forward(x)) on a local list of tensors: the list it holds grows.
            case IInvocationOperation { TargetMethod.Name: "Add", Arguments.Length: 1, Instance: ILocalReferenceOperation list } add
                when f.Locals.TryGetValue(list.Local, out var held) && held is ListValue items:
                f.Locals[list.Local] = new ListValue(items.Items.Add(Eval(add.Arguments[0].Value, f)));
                break;
            case IInvocationOperation call:
                Eval(call, f);
                break;
            default:
                Unsupported(op.Syntax, "statement", f.Where, "the reader has no rule for this statement");
                break;
        }
    }

    private static bool IsInPlace(IMethodSymbol method) =>
        method.Name.EndsWith("_", StringComparison.Ordinal) && (TorchSymbols.IsTensor(method.ContainingType) || TorchSymbols.IsTorchSharpType(method.ContainingType));

    /// <summary>
    /// <c>var (batch, tokens, channels) = x.size();</c> through a Deconstruct extension on long[] declared in source
    /// whose body sets each out parameter to one element of the array (<c>a = shape[0];</c>): the sizes it picks.
    /// </summary>
    private Value DeconstructShape(IDeconstructionAssignmentOperation op, ShapeValue shape, Frame f)
    {
        const string Reason = "a shape is deconstructed through a Deconstruct extension on long[] declared in source whose body sets each out parameter to one element ('a = shape[0];')";
        var method = op.Syntax is AssignmentExpressionSyntax assignment ? _models.Get(assignment.SyntaxTree).GetDeconstructionInfo(assignment).Method : null;
        if (method is not { IsExtensionMethod: true, DeclaringSyntaxReferences.Length: > 0 } || method.Parameters.Length < 2
            || _models.Get(method.DeclaringSyntaxReferences[0].SyntaxTree).GetOperation(method.DeclaringSyntaxReferences[0].GetSyntax(_ct), _ct) is not IMethodBodyOperation { BlockBody: { } body })
        {
            return Unsupported(op.Syntax, "deconstruction", f.Where, Reason);
        }

        var picked = new Value?[method.Parameters.Length - 1];
        foreach (var statement in body.Operations)
        {
            if (statement is IExpressionStatementOperation { Operation: ISimpleAssignmentOperation { Target: IParameterReferenceOperation target, Value: IArrayElementReferenceOperation { ArrayReference: IParameterReferenceOperation source, Indices.Length: 1 } element } }
                && SymbolEqualityComparer.Default.Equals(source.Parameter, method.Parameters[0]) && target.Parameter.Ordinal >= 1
                && element.Indices[0].ConstantValue is { HasValue: true, Value: int k } && k >= 0 && k < shape.Shape.Rank)
            {
                picked[target.Parameter.Ordinal - 1] = new DimValue(shape.Shape[k]);
                continue;
            }

            if (statement is not IReturnOperation { ReturnedValue: null })
            {
                return Unsupported(op.Syntax, "deconstruction", f.Where, Reason);
            }
        }

        return picked.All(p => p is not null)
            ? new TupleValue(picked.Select(p => p!).ToImmutableArray())
            : Unsupported(op.Syntax, "deconstruction", f.Where, Reason);
    }

    private void Assign(IOperation target, Value value, Frame f)
    {
        switch (target)
        {
            case ILocalReferenceOperation local:
                f.Locals[local.Local] = value; // forward runs statement by statement: a number in a local is exact
                break;
            case IParameterReferenceOperation parameter:
                f.Locals[parameter.Parameter] = value;
                break;
            case IDeclarationExpressionOperation declaration:
                Assign(declaration.Expression, value, f);
                break;
            case IDiscardOperation:
                break;
            case ITupleOperation tuple:
                if (value is TupleValue t && t.Items.Length == tuple.Elements.Length)
                {
                    for (var i = 0; i < t.Items.Length; i++)
                    {
                        Assign(tuple.Elements[i], t.Items[i], f);
                    }
                }
                else
                {
                    if (value is not PoisonValue)
                    {
                        Unsupported(tuple.Syntax, "deconstruction", f.Where, "the value is not a tuple of the same length");
                    }

                    foreach (var e in tuple.Elements)
                    {
                        Assign(e, Poison, f);
                    }
                }

                break;
            case IFieldReferenceOperation field:
                Unsupported(target.Syntax, "assignment", f.Where, $"assigning field '{field.Field.Name}' changes module state that the graph does not hold");
                break;
            default:
                Unsupported(target.Syntax, "assignment", f.Where, "the reader assigns only locals, parameters and tuples of them");
                break;
        }
    }

    /// <summary>
    /// The counter of a loop the reader unrolls: <c>for (var i = start; i &lt; bound; i++)</c> (or +=, &lt;=, &gt;, --) with a
    /// start and bound known at build time (a constant, a ModuleList's Count). Null when the loop is not of that form.
    /// </summary>
    private ILocalSymbol? Counter(IForLoopOperation loop, Frame f)
    {
        if (loop.Before.Length != 1
            || loop.Before[0] is not IVariableDeclarationGroupOperation { Declarations.Length: 1 } group
            || group.Declarations[0].Declarators.Length != 1
            || loop.Condition is null
            || loop.AtLoopBottom.Length != 1
            || loop.AtLoopBottom[0] is not IExpressionStatementOperation { Operation: IIncrementOrDecrementOperation or ICompoundAssignmentOperation })
        {
            return null;
        }

        var declarator = group.Declarations[0].Declarators[0];
        return (declarator.Initializer ?? group.Declarations[0].Initializer) is { } init && Eval(init.Value, f) is ConstValue { Value: long }
            ? declarator.Symbol
            : null;
    }

    /// <summary>Runs the body once per counter value while the condition holds (at most 4096 times).</summary>
    private Value? For(IForLoopOperation loop, ILocalSymbol counter, Frame f)
    {
        var declarator = ((IVariableDeclarationGroupOperation)loop.Before[0]).Declarations[0].Declarators[0];
        var init = (declarator.Initializer ?? ((IVariableDeclarationGroupOperation)loop.Before[0]).Declarations[0].Initializer)!;
        var i = ((ConstValue)Eval(init.Value, f)).Value;
        for (var n = 0; n <= 4096; n++)
        {
            // One budget for every unrolled iteration of the read: nested loops cannot multiply it.
            if (++_unrolled > MaxUnrolled)
            {
                return Unsupported(loop.Syntax, "statement", f.Where, $"the reader unrolls at most {MaxUnrolled} loop iterations in forward, nested loops together");
            }

            // The counter is the iteration's number while the loop runs.
            f.Locals[counter] = new ConstValue(i);
            if (Condition(loop.Condition!, f) is not { } b)
            {
                return Unsupported(loop.Syntax, "statement", f.Where, StatementReason(loop));
            }

            if (!b)
            {
                return null;
            }

            var r = Exec(loop.Body, f);
            if (r is not null)
            {
                return r;
            }

            i = loop.AtLoopBottom[0] switch
            {
                IExpressionStatementOperation { Operation: IIncrementOrDecrementOperation step } => (long)i! + (step.Kind == OperationKind.Increment ? 1 : -1),
                IExpressionStatementOperation { Operation: ICompoundAssignmentOperation compound } when Eval(compound.Value, f) is ConstValue { Value: long by } =>
                    compound.OperatorKind switch
                    {
                        BinaryOperatorKind.Add => (long)i! + by,
                        BinaryOperatorKind.Subtract => (long)i! - by,
                        _ => null,
                    },
                _ => null,
            };
            if (i is null)
            {
                return Unsupported(loop.Syntax, "statement", f.Where, StatementReason(loop));
            }
        }

        return Unsupported(loop.Syntax, "statement", f.Where, "the reader unrolls loops of at most 4096 iterations");
    }

    private Value? ForEach(IForEachLoopOperation loop, Frame f)
    {
        var collection = Eval(loop.Collection, f);
        if (collection is PoisonValue)
        {
            return Poison;
        }

        if (collection is not ModuleValue { Node: ContainerNode container }
            || loop.LoopControlVariable is not IVariableDeclaratorOperation variable)
        {
            return Unsupported(loop.Syntax, "statement", f.Where, StatementReason(loop));
        }

        foreach (var child in container.Children)
        {
            f.Locals[variable.Symbol] = new ModuleValue(child);
            var r = Exec(loop.Body, f);
            if (r is not null)
            {
                return r;
            }
        }

        return null;
    }

    // ---------------------------------------------------------------- expressions

    private Value Eval(IOperation op, Frame f)
    {
        _ct.ThrowIfCancellationRequested();
        if (_evalDepth >= MaxExpressionDepth)
        {
            return Unsupported(op.Syntax, "expression", f.Where, $"expressions nest more than {MaxExpressionDepth} levels deep");
        }

        _evalDepth++;
        try
        {
            return EvalCore(op, f);
        }
        finally
        {
            _evalDepth--;
        }
    }

    private Value EvalCore(IOperation op, Frame f)
    {
        if (op.ConstantValue.HasValue)
        {
            return new ConstValue(ConstantEvaluator.Normalize(op.ConstantValue.Value));
        }

        switch (op)
        {
            case IConversionOperation conversion:
            {
                var inner = Eval(conversion.Operand, f);
                return inner is ConstValue c ? new ConstValue(ConstantEvaluator.Convert(c.Value, conversion.Type)) : inner;
            }

            case ILocalReferenceOperation local:
                return f.Locals.TryGetValue(local.Local, out var lv)
                    ? lv
                    : Unsupported(op.Syntax, "expression", f.Where, $"local '{local.Local.Name}' is read before the reader saw it assigned");

            case IParameterReferenceOperation parameter:
                if (f.Locals.TryGetValue(parameter.Parameter, out var pv))
                {
                    if (_depth == 1)
                    {
                        UsedParameters.Add(parameter.Parameter.Name);
                    }

                    return pv;
                }

                return new NonConstValue(null);

            case IFieldReferenceOperation field:
                return Field(field, f);

            case IPropertyReferenceOperation property:
                return Property(property, f);

            case IInvocationOperation call:
                return Invocation(call, f);

            case IBinaryOperation binary:
                return Binary(binary.OperatorKind, Eval(binary.LeftOperand, f), Eval(binary.RightOperand, f), binary.Syntax, f);

            case IConditionalOperation conditional:
                return Condition(conditional.Condition, f) is { } taken
                    ? Eval(taken ? conditional.WhenTrue : conditional.WhenFalse!, f)
                    : Unsupported(op.Syntax, "expression", f.Where, StatementReason(conditional));

            case IUnaryOperation unary:
                return Unary(unary, Eval(unary.Operand, f), f);

            case ITupleOperation tuple:
                return new TupleValue(tuple.Elements.Select(e => Eval(e, f)).ToImmutableArray());

            case IArrayCreationOperation { Initializer: { } init }:
                return new ListValue(init.ElementValues.Select(e => Eval(e, f)).ToImmutableArray());

            // new List<Tensor>() or new List<Tensor> { a, b }: a list the reader follows as it grows.
            case IObjectCreationOperation { Type: INamedTypeSymbol { Name: "List", IsGenericType: true }, Arguments.Length: 0 } list
                when list.Initializer is null || list.Initializer.Initializers.All(i => i is IInvocationOperation { TargetMethod.Name: "Add", Arguments.Length: 1 }):
                return new ListValue(list.Initializer is null
                    ? ImmutableArray<Value>.Empty
                    : list.Initializer.Initializers.Select(i => Eval(((IInvocationOperation)i).Arguments[0].Value, f)).ToImmutableArray());

            case ICollectionExpressionOperation collection when collection.Elements.All(e => e is not ISpreadOperation):
                return new ListValue(collection.Elements.Select(e => Eval(e, f)).ToImmutableArray());

            case IArrayElementReferenceOperation element:
                return ArrayElement(element, f);

            case IDefaultValueOperation:
                return ConstValue.Null;

            case IInstanceReferenceOperation:
                return new ModuleValue(f.Module);

            default:
                return Unsupported(op.Syntax, "expression", f.Where, "the reader has no rule for this expression");
        }
    }

    private Value Field(IFieldReferenceOperation op, Frame f)
    {
        var field = op.Field;
        if (field.ContainingType.IsTupleType)
        {
            var tuple = op.Instance is null ? Poison : Eval(op.Instance, f);
            var index = TupleIndex(field);
            return tuple switch
            {
                PoisonValue => Poison,
                TupleValue t when index >= 0 && index < t.Items.Length => t.Items[index] is OpaqueValue o
                    ? Unsupported(op.Syntax, "expression", f.Where, o.Reason)
                    : t.Items[index],
                _ => Unsupported(op.Syntax, "expression", f.Where, "the reader reads tuple elements only of tuples it built"),
            };
        }

        if (field.IsStatic)
        {
            // TorchSharp 0.107 declares TensorIndex.Ellipsis/Colon/None/Null as static fields (older releases: properties).
            return TorchSymbols.IsTensorIndex(field.ContainingType)
                ? TensorIndexMember(field.Name, op.Syntax, f)
                : FromBinding(f.Module.Scope.Context?.StaticMember(field));
        }

        UserModuleNode? owner = null;
        if (op.Instance is null or IInstanceReferenceOperation)
        {
            owner = f.Module;
        }
        else
        {
            switch (Eval(op.Instance, f))
            {
                case PoisonValue:
                    return Poison;
                case ModuleValue { Node: UserModuleNode u }:
                    owner = u;
                    break;
                case ConstValue or NonConstValue when ConfigMember(op, f) is { } member:
                    return member;
            }
        }

        if (owner is null)
        {
            return Unsupported(op.Syntax, "field", f.Where, "the reader reads fields only of module classes it read");
        }

        if (owner.Fields.TryGetValue(field, out var node))
        {
            return new ModuleValue(node);
        }

        // A Parameter or buffer field: its value, read afresh at each use (a call of its Tensor module).
        if (owner.TensorFields.TryGetValue(field, out var tensor))
        {
            return Build(op.Syntax, () => _b.Call(tensor.Path)[0]);
        }

        if (TorchSymbols.IsTensor(field.Type))
        {
            return Unsupported(
                op.Syntax,
                "field",
                f.Where,
                owner.LateTensorFields.Contains(field)
                    ? $"tensor field '{field.Name}' is assigned after RegisterComponents(), so TorchSharp neither registers nor saves it; register it with register_buffer(\"{field.Name}\", {field.Name}) or assign it before the call"
                    : $"tensor field '{field.Name}' is not part of the graph IR (only layers hold parameters)");
        }

        if (TorchSymbols.IsModule(field.Type))
        {
            return Unsupported(op.Syntax, "field", f.Where, $"module field '{field.Name}' is not registered");
        }

        // A field that is not readonly may change after the constructor ran: its value is not known at build time,
        // unless it is private and only constructors write it (a width kept for forward's scale).
        return field.IsReadOnly || field.IsConst || WrittenOnlyByConstructors(field) ? FromBinding(owner.Scope.Get(field)) : new NonConstValue(null);
    }

    private readonly Dictionary<IFieldSymbol, bool> _constructorOnly = new(SymbolEqualityComparer.Default);

    /// <summary>
    /// Whether every write of a private field (assignment, compound assignment, ++/--, ref/out) is in a constructor
    /// of its class, outside lambdas and local functions there (which could run later).
    /// </summary>
    private bool WrittenOnlyByConstructors(IFieldSymbol field)
    {
        if (field.DeclaredAccessibility != Accessibility.Private || field.IsStatic)
        {
            return false;
        }

        if (_constructorOnly.TryGetValue(field, out var known))
        {
            return known;
        }

        var result = true;
        foreach (var reference in field.ContainingType.DeclaringSyntaxReferences)
        {
            var root = reference.GetSyntax(_ct);
            var model = _models.Get(root.SyntaxTree);
            foreach (var id in root.DescendantNodes().OfType<IdentifierNameSyntax>().Where(i => i.Identifier.ValueText == field.Name))
            {
                SyntaxNode target = id.Parent is MemberAccessExpressionSyntax m && m.Name == id ? m : id;
                var written = target.Parent switch
                {
                    AssignmentExpressionSyntax a => a.Left == target,
                    PrefixUnaryExpressionSyntax or PostfixUnaryExpressionSyntax => true,
                    ArgumentSyntax arg => !arg.RefKindKeyword.IsKind(SyntaxKind.None),
                    _ => false,
                };
                if (!written || !SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(id, _ct).Symbol, field))
                {
                    continue;
                }

                var scope = id.Ancestors().FirstOrDefault(a => a is ConstructorDeclarationSyntax or BaseMethodDeclarationSyntax or AccessorDeclarationSyntax
                    or AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax);
                if (scope is not ConstructorDeclarationSyntax)
                {
                    result = false;
                    break;
                }
            }
        }

        _constructorOnly[field] = result;
        return result;
    }

    private static Value FromBinding(ConstBinding? binding) =>
        binding is { IsConstant: true } ? new ConstValue(binding.Value) : new NonConstValue(binding);

    /// <summary>
    /// A field or property of a config object (<c>_config.n_embd</c>) or a static member, read the way the module
    /// reader reads sizes (<see cref="ConstantEvaluator"/>, in the module's scope); null when the instance is no config
    /// object.
    /// </summary>
    private Value? ConfigMember(IMemberReferenceOperation op, Frame f)
    {
        var instance = op.Instance is null ? null : Eval(op.Instance, f);
        if (instance is ConstValue { Value: ConfigObject config })
        {
            return FromBinding(config.Get(op.Member));
        }

        if (instance is NonConstValue { Binding: { } binding })
        {
            // A member of an unbound model parameter names itself in the NS1003 it causes.
            var r = ConstantEvaluator.Evaluate(op, f.Module.Scope);
            return r.IsConstant ? new ConstValue(r.Value) : new NonConstValue(r.FailedBinding ?? binding);
        }

        return null;
    }

    /// <summary>Item1 → 0, …; -1 beyond Item7 (Rest).</summary>
    private static int TupleIndex(IFieldSymbol field)
    {
        var name = (field.CorrespondingTupleField ?? field).Name;
        return name.StartsWith("Item", StringComparison.Ordinal) && int.TryParse(name.Substring(4), out var n) && n is >= 1 and <= 7 ? n - 1 : -1;
    }

    /// <summary><c>TensorIndex.Ellipsis</c>, <c>Colon</c>, <c>None</c> (and its alias <c>Null</c>), field or property.</summary>
    private Value TensorIndexMember(string name, SyntaxNode site, Frame f) => name switch
    {
        "Ellipsis" => new IndexValue(IndexKind.Ellipsis),
        "Colon" => new IndexValue(IndexKind.Colon),
        "None" or "Null" => new IndexValue(IndexKind.NewAxis),
        _ => Unsupported(site, "index", f.Where, $"TensorIndex.{name} is not read"),
    };

    private Value Property(IPropertyReferenceOperation op, Frame f)
    {
        var property = op.Property;
        if (TorchSymbols.IsTensorIndex(property.ContainingType) && property.IsStatic)
        {
            return TensorIndexMember(property.Name, op.Syntax, f);
        }

        var instance = op.Instance is null ? null : Eval(op.Instance, f);
        if (instance is PoisonValue)
        {
            return Poison;
        }

        if (instance is PendingValue pending)
        {
            return PendingUse(pending);
        }

        // System.Tuple's Item1..Item7 (MultiheadAttention returns Tuple<Tensor, Tensor>), as for value tuples.
        if (instance is TupleValue tuple && property.ContainingType is { Name: "Tuple", ContainingNamespace.Name: "System" }
            && property.Name.StartsWith("Item", StringComparison.Ordinal) && int.TryParse(property.Name.Substring(4), out var item)
            && item >= 1 && item <= tuple.Items.Length)
        {
            return tuple.Items[item - 1] is OpaqueValue o ? Unsupported(op.Syntax, "expression", f.Where, o.Reason) : tuple.Items[item - 1];
        }

        if (property.IsIndexer)
        {
            switch (instance)
            {
                case TensorValue tensor:
                    return Index(tensor, op, f);
                // parts["lin1"] on a ModuleDict: the child of that name.
                case ModuleValue { Node: ContainerNode named } when op.Arguments.Length == 1 && Eval(op.Arguments[0].Value, f) is ConstValue { Value: string key }:
                    return named.Children.FirstOrDefault(c => c.Path == key || c.Path.EndsWith("." + key, StringComparison.Ordinal)) is { } child
                        ? new ModuleValue(child)
                        : Unsupported(op.Syntax, "indexer", f.Where, $"{named.Kind} '{named.Path}' has no child named '{key}'");
                case ModuleValue { Node: ContainerNode container } when op.Arguments.Length == 1:
                {
                    var i = Long(op.Arguments[0].Value, "index", "indexer", f);
                    if (i is null)
                    {
                        return Poison;
                    }

                    var index = i.Value < 0 ? i.Value + container.Children.Count : i.Value;
                    return index >= 0 && index < container.Children.Count
                        ? new ModuleValue(container.Children[(int)index])
                        : Unsupported(op.Syntax, "indexer", f.Where, $"index {i.Value} is out of range for {container.Kind} '{container.Path}' of {container.Children.Count} children");
                }

                default:
                    return Unsupported(op.Syntax, "indexer", f.Where, "the reader indexes tensors and ModuleList or Sequential fields only");
            }
        }

        if (instance is TensorValue t && property.Name == "shape")
        {
            return new ShapeValue(t.Shape);
        }

        if (instance is ModuleValue { Node: ContainerNode children } && property.Name is "Count" or "Length")
        {
            return new ConstValue((long)children.Children.Count);
        }

        if (TorchSymbols.IsModule(property.Type) || TorchSymbols.IsTensor(property.Type))
        {
            return Unsupported(op.Syntax, "property", f.Where, "modules and tensors are read from fields only");
        }

        if (instance is ConstValue or NonConstValue && ConfigMember(op, f) is { } member)
        {
            return member;
        }

        // An auto-property the constructor set to a number (InputScale = inputScale).
        if (instance is ModuleValue { Node: UserModuleNode holder } && holder.Scope.Get(property) is { } set)
        {
            return FromBinding(set);
        }

        if (property.DeclaringSyntaxReferences.Length > 0 && f.Module.Scope.Context is { } context)
        {
            // A static property, or a getter of the module class (int Hidden => 4 * Width;), evaluated in the module's scope.
            if (property.IsStatic)
            {
                return FromBinding(context.StaticMember(property));
            }

            if (instance is ModuleValue { Node: UserModuleNode owner })
            {
                return FromBinding(context.Getter(property, owner.Scope)); // a set auto-property returned above
            }
        }

        // A scalar property (e.g. Module.training): fine where the reader ignores it, NS1003 where it is a size.
        return new NonConstValue(null);
    }

    private Value ArrayElement(IArrayElementReferenceOperation op, Frame f)
    {
        var array = Eval(op.ArrayReference, f);
        if (array is PoisonValue || op.Indices.Length != 1)
        {
            return array is PoisonValue ? Poison : Unsupported(op.Syntax, "expression", f.Where, "only one index is read");
        }

        var i = Long(op.Indices[0], "index", "[]", f);
        if (i is null)
        {
            return Poison;
        }

        switch (array)
        {
            case ShapeValue s:
            {
                var axis = i.Value < 0 ? i.Value + s.Shape.Rank : i.Value;
                return axis >= 0 && axis < s.Shape.Rank
                    ? new DimValue(s.Shape[(int)axis])
                    : ShapeError(op.Syntax, $"shape index {i.Value} is out of range for shape {s.Shape}");
            }

            case ListValue l when i.Value >= 0 && i.Value < l.Items.Length:
                return l.Items[(int)i.Value];

            // layers[i] on an array field of modules: the module registered in that slot.
            case ModuleValue { Node: ContainerNode modules } when i.Value >= 0 && i.Value < modules.Children.Count:
                return new ModuleValue(modules.Children[(int)i.Value]);
            default:
                return Unsupported(op.Syntax, "expression", f.Where, "the reader indexes shapes, module arrays and lists it built only");
        }
    }

    private Value Binary(BinaryOperatorKind kind, Value left, Value right, SyntaxNode site, Frame f)
    {
        if (left is PoisonValue || right is PoisonValue)
        {
            return Poison;
        }

        if (left is PendingValue pl)
        {
            return PendingUse(pl);
        }

        if (right is PendingValue pr)
        {
            return PendingUse(pr);
        }

        if (left is TensorValue a && right is TensorValue b)
        {
            switch (kind)
            {
                case BinaryOperatorKind.Add:
                    return Build(site, () => _b.Add(a.GraphValue, b.GraphValue));
                case BinaryOperatorKind.Subtract:
                    return Build(site, () => _b.Sub(a.GraphValue, b.GraphValue));
                case BinaryOperatorKind.Multiply:
                    return Build(site, () => _b.Mul(a.GraphValue, b.GraphValue));
                case BinaryOperatorKind.Divide:
                    // x_i / x_j has the feature sets of x_i * x_j (paper 001 Table 1).
                    return Build(site, () => _b.Div(a.GraphValue, b.GraphValue));
                default:
                    return Unsupported(site, "operator", f.Where, "the IR has +, - and * of tensors");
            }
        }

        if (left is TensorValue || right is TensorValue)
        {
            var tensor = left as TensorValue ?? (TensorValue)right;
            var scalar = left is TensorValue ? right : left;

            // Times a number known at build time, or divided by one: an exact scale (the number carries no features).
            if (scalar is ConstValue { Value: long or double } factor && ConstantEvaluator.TryDouble(factor.Value, out var c)
                && (kind == BinaryOperatorKind.Multiply || (kind == BinaryOperatorKind.Divide && left is TensorValue && c != 0)))
            {
                var by = kind == BinaryOperatorKind.Multiply ? c : 1 / c;
                return Build(site, () => _b.Scale(tensor.GraphValue, by));
            }

            // Plus or minus a number known at build time (x + 1e-5, 1 - gate): an exact shift.
            if (scalar is ConstValue { Value: long or double } term && ConstantEvaluator.TryDouble(term.Value, out var t)
                && kind is BinaryOperatorKind.Add or BinaryOperatorKind.Subtract)
            {
                var (sign, offset) = kind == BinaryOperatorKind.Add ? (1.0, t) : left is TensorValue ? (1.0, -t) : (-1.0, t);
                return Build(site, () => _b.Scale(tensor.GraphValue, sign, offset));
            }

            if (scalar is ConstValue { Value: long or double } or NonConstValue or DimValue
                && kind is BinaryOperatorKind.Add or BinaryOperatorKind.Subtract or BinaryOperatorKind.Multiply or BinaryOperatorKind.Divide)
            {
                // A scalar operand carries no features (docs/mirror.md), so the result has the tensor's sets.
                _d.Approximated(site, "operator", f.Where, "the identity of its tensor operand (a scalar operand carries no features)");
                return tensor;
            }

            return Unsupported(site, "operator", f.Where, "the operand is not a tensor or a number");
        }

        return Scalar(kind, left, right, site, f);
    }

    /// <summary>
    /// A branch condition known at build time, or null: constants and bound sizes (through the constant evaluator's
    /// comparisons), and <c>module == null</c> / <c>!= null</c> for an optional module field (null when not created).
    /// </summary>
    private bool? Condition(IOperation condition, Frame f)
    {
        if (condition is IBinaryOperation compare)
        {
            // Operands first, so an unknown comparison is reported once, at the branch, not also as an operator.
            var left = Eval(compare.LeftOperand, f);
            var right = Eval(compare.RightOperand, f);
            var module = left as ModuleValue ?? right as ModuleValue;
            var other = left is ModuleValue ? right : left;
            if (compare.OperatorKind is BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals
                && module is not null && other is ConstValue { Value: null } && module.Node is not FailedNode { Unassigned: false })
            {
                var isNull = module.Node is FailedNode { Unassigned: true };
                return compare.OperatorKind == BinaryOperatorKind.Equals ? isNull : !isNull;
            }

            return left is ConstValue l && right is ConstValue r && ConstantEvaluator.Arithmetic(compare.OperatorKind, l.Value, r.Value) is { IsConstant: true, Value: bool known }
                ? known
                : null;
        }

        if (condition is IUnaryOperation { OperatorKind: UnaryOperatorKind.Not } not)
        {
            return Condition(not.Operand, f) is { } inner ? !inner : null;
        }

        // mask is null / mask is not null: known for every value the reader holds (an optional module left null too).
        if (condition is IIsPatternOperation { Pattern: { } pattern } test && NullTest(pattern) is { } whenNull)
        {
            return Eval(test.Value, f) switch
            {
                ConstValue { Value: null } or ModuleValue { Node: FailedNode { Unassigned: true } } => whenNull,
                TensorValue or ModuleValue { Node: not FailedNode } or ConstValue => !whenNull,
                _ => null,
            };
        }

        // ReferenceEquals(result, input) (code that disposes intermediates but not its input): the reader's values are
        // the tensors forward made, so two names hold the same tensor exactly when they hold the same graph value.
        if (condition is IInvocationOperation { TargetMethod: { Name: "ReferenceEquals", IsStatic: true, ContainingType.SpecialType: SpecialType.System_Object }, Arguments.Length: 2 } same)
        {
            var first = Eval(same.Arguments[0].Value, f);
            var second = Eval(same.Arguments[1].Value, f);
            return (first, second) switch
            {
                (TensorValue ta, TensorValue tb) => ta.GraphValue.Ref == tb.GraphValue.Ref,
                (ModuleValue ma, ModuleValue mb) => ReferenceEquals(ma.Node, mb.Node),
                (TensorValue or ModuleValue, ConstValue { Value: null }) or (ConstValue { Value: null }, TensorValue or ModuleValue) => false,
                _ => null,
            };
        }

        return Eval(condition, f) is ConstValue { Value: bool b } ? b : null;
    }

    /// <summary>What 'is null' (true) or 'is not null' (false) yields for a null value; null for other patterns.</summary>
    private static bool? NullTest(IPatternOperation pattern) => pattern switch
    {
        IConstantPatternOperation { Value.ConstantValue: { HasValue: true, Value: null } } => true,
        INegatedPatternOperation { Pattern: IConstantPatternOperation { Value.ConstantValue: { HasValue: true, Value: null } } } => false,
        _ => null,
    };

    /// <summary>Arithmetic of sizes: constants, and dimensions read off shapes (linear forms only).</summary>
    private Value Scalar(BinaryOperatorKind kind, Value left, Value right, SyntaxNode site, Frame f)
    {
        if (left is NonConstValue nl)
        {
            return nl;
        }

        if (right is NonConstValue nr)
        {
            return nr;
        }

        if (left is ConstValue cl && right is ConstValue cr)
        {
            var r = ConstantEvaluator.Arithmetic(kind, cl.Value, cr.Value);
            return r.IsConstant ? new ConstValue(r.Value) : Unsupported(site, "operator", f.Where, "the constant arithmetic overflows or is not defined");
        }

        var dl = AsDim(left);
        var dr = AsDim(right);
        if (dl is not null && dr is not null)
        {
            switch (kind)
            {
                case BinaryOperatorKind.Add:
                    return new DimValue(dl + dr);
                case BinaryOperatorKind.Subtract:
                    return new DimValue(dl - dr);
                case BinaryOperatorKind.Multiply when dr.IsConstant:
                    return new DimValue(dl * dr.Constant);
                case BinaryOperatorKind.Multiply when dl.IsConstant:
                    return new DimValue(dr * dl.Constant);

                // channels / heads where both are known: a constant size (an inexact quotient is C#'s integer one).
                case BinaryOperatorKind.Divide or BinaryOperatorKind.Remainder when dl.IsConstant && dr.IsConstant && dr.Constant != 0:
                    return new DimValue(Dim.Of(kind == BinaryOperatorKind.Divide ? dl.Constant / dr.Constant : dl.Constant % dr.Constant));

                // (2 * N) / 2: a linear form whose every coefficient the constant divides.
                case BinaryOperatorKind.Divide when dr.IsConstant && dr.Constant > 0 && dl.Constant % dr.Constant == 0 && dl.Terms.All(t => t.Coefficient % dr.Constant == 0):
                    return new DimValue(Dim.Of(dl.Constant / dr.Constant) + dl.Terms.Aggregate(Dim.Of(0), (acc, t) => acc + (Dim.Symbol(t.Symbol) * (t.Coefficient / dr.Constant))));
            }

            return Unsupported(site, "operator", f.Where, "sizes read off shapes combine only linearly (+, -, and * by a constant)");
        }

        return Unsupported(site, "operator", f.Where, "the operands are not numbers or sizes");
    }

    private static Dim? AsDim(Value v) => v switch
    {
        DimValue d => d.Dim,
        ConstValue { Value: long l } => Dim.Of(l),
        _ => null,
    };

    private Value Unary(IUnaryOperation op, Value operand, Frame f)
    {
        switch (operand)
        {
            case PoisonValue:
                return Poison;
            case PendingValue p:
                return PendingUse(p);
            case NonConstValue:
                return operand;
            case ConstValue { Value: long l } when op.OperatorKind == UnaryOperatorKind.Minus:
                return new ConstValue(-l);
            case ConstValue { Value: double d } when op.OperatorKind == UnaryOperatorKind.Minus:
                return new ConstValue(-d);
            case DimValue d when op.OperatorKind == UnaryOperatorKind.Minus:
                return new DimValue(d.Dim * -1);
            case TensorValue t when op.OperatorKind == UnaryOperatorKind.Minus:
                return Build(op.Syntax, () => _b.Activation(t.GraphValue, ActivationKind.Neg));
            case TensorValue when op.OperatorKind == UnaryOperatorKind.Plus:
                return operand;
            default:
                return Unsupported(op.Syntax, "operator", f.Where, "the reader has no rule for this operator");
        }
    }

    // ---------------------------------------------------------------- helpers

    private PoisonValue Unsupported(SyntaxNode node, string kind, string where, string reason)
    {
        _d.Unsupported(node, kind, where, reason);
        return Poison;
    }

    private PoisonValue ShapeError(SyntaxNode node, string message)
    {
        _d.Shape(node, new GraphException(message));
        return Poison;
    }

    /// <summary>A builder call; a <see cref="GraphException"/> becomes NS1007 at <paramref name="site"/>.</summary>
    private Value Build(SyntaxNode site, Func<GraphValue> build)
    {
        try
        {
            return new TensorValue(build());
        }
        catch (GraphException e)
        {
            _d.Shape(site, SchemaHint(e));
            return Poison;
        }
    }

    /// <summary>
    /// A shape error about a schema input itself most often means the schema gave it the wrong axes (a time series
    /// declared as a plain vector): say where its shape comes from and how the schema would give it a set or sequence
    /// axis.
    /// </summary>
    private GraphException SchemaHint(GraphException e)
    {
        // Only when the input is the first operand the message names: the subject of the error, not a bystander.
        var first = e.Message.IndexOf("operand '", StringComparison.Ordinal);
        foreach (var entry in _featureInputRanks)
        {
            var (input, (rank, featureAxis)) = (entry.Key, entry.Value);
            if (first < 0 || string.CompareOrdinal(e.Message, first, "operand '" + input + "'", 0, input.Length + 10) != 0)
            {
                continue;
            }

            var hint = featureAxis >= 0
                ? $"; '{input}' is shaped by its 'axes' in {_schemaName}: check that they list the tensor's axes in order, with 'features' where its features sit"
                : rank == 2
                ? $"; '{input}' is shaped [B, features] by {_schemaName}: if it has a set or sequence axis before its features ([B, N, features]), add 'set: true' to the input there; if its features sit on another axis (an image's channels), give its axes, e.g. 'axes: [batch, features, 28, 28]'"
                : $"; '{input}' is shaped [B, N, features] by {_schemaName} ('set: true'): if it has no set or sequence axis, remove 'set: true' there";
            return new GraphException(e.Message + hint);
        }

        return e;
    }

    /// <summary>
    /// A forward parameter without a schema input used where its shape matters: NS1004 at the parameter, once.
    /// </summary>
    private PoisonValue PendingUse(PendingValue pending)
    {
        var p = pending.Parameter;
        if (_reportedPending.Add(p.Name))
        {
            _d.Add(ModelDiagnostics.ForwardParameterWithoutSchemaInput, p.Locations[0], ReaderDiagnostic.GraphNotBuilt, null, null, p.Name, _schemaName);
        }

        return Poison;
    }

    /// <summary>The operand as a graph value; null (already reported) when it is not a tensor.</summary>
    private GraphValue? Tensor(Value value, SyntaxNode site, Frame f)
    {
        switch (value)
        {
            case TensorValue t:
                return t.GraphValue;
            case PoisonValue:
                return null;
            case PendingValue p:
                PendingUse(p);
                return null;
            case OpaqueValue o:
                Unsupported(o.Site, o.Kind, f.Where, o.Reason);
                return null;
            default:
                Unsupported(site, "argument", f.Where, "expected a tensor");
                return null;
        }
    }

    /// <summary>A constant integer argument (an axis, start, length, index); NS1003 otherwise.</summary>
    private long? Long(IOperation argument, string name, string callee, Frame f)
    {
        var v = Eval(argument, f);
        switch (v)
        {
            case ConstValue { Value: long l }:
                return l;
            case DimValue { Dim.IsConstant: true } d:
                return d.Dim.Constant;
            case PoisonValue:
                return null;
            default:
                NonConstant(v, argument.Syntax, name, callee);
                return null;
        }
    }

    /// <summary>The syntax of element <paramref name="i"/> of a listed argument (params array, array or collection), else the argument's.</summary>
    private static SyntaxNode ElementSyntax(IOperation argument, int i)
    {
        var list = ModuleTreeReader.Unwrap(argument) switch
        {
            IArrayCreationOperation { Initializer: { } init } => init.ElementValues,
            ICollectionExpressionOperation c => c.Elements,
            _ => ImmutableArray<IOperation>.Empty,
        };
        return i < list.Length ? list[i].Syntax : argument.Syntax;
    }

    private void NonConstant(Value value, SyntaxNode site, string name, string callee)
    {
        if (value is NonConstValue { Binding: { } binding })
        {
            _d.NonConstant(site, name, callee, binding);
        }
        else if (value is PendingValue p)
        {
            PendingUse(p);
        }
        else
        {
            _d.NonConstant(site, name, callee);
        }
    }
}
