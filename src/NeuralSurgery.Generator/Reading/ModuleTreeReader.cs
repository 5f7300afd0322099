using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// Reads a module class's fields into a <see cref="UserModuleNode"/> tree the way TorchSharp's
/// <c>RegisterComponents()</c> sees them (TORCHSHARP.md, state_dict names): instance fields in declaration order,
/// derived type first, then user base classes; a field's value is its last assignment in constructor execution
/// order (field initialisers, the base constructor, then the constructor body); the name is the field name or
/// <c>[ComponentName(Name = …)]</c>. Nested user modules are read recursively with their constructor arguments
/// bound to constants.
/// </summary>
internal sealed class ModuleTreeReader
{
    private const int MaxDepth = 32;

    private readonly SemanticModels _models;
    private readonly DiagnosticBag _diagnostics;
    private readonly SizeContext _context;
    private readonly CancellationToken _ct;
    private readonly List<INamedTypeSymbol> _inProgress = [];

    /// <summary>Module factory lambdas being read, innermost last (a bound on a lambda that calls itself).</summary>
    private int _closureDepth;

    /// <summary>Constructor statements run so far for this model, and the most it may run.</summary>
    private int _statements;

    private const int MaxStatements = 200_000;

    public ModuleTreeReader(SemanticModels models, DiagnosticBag diagnostics, SizeContext context, CancellationToken ct)
    {
        _models = models;
        _diagnostics = diagnostics;
        _context = context;
        _ct = ct;
    }

    public static string Join(string parent, string name) => parent.Length == 0 ? name : parent + "." + name;

    /// <summary>Modules with weights in registration order (depth first), which fixes state_dict order.</summary>
    public static IEnumerable<LayerNode> Layers(ModuleNode node)
    {
        switch (node)
        {
            case LayerNode layer:
                yield return layer;
                break;
            case ContainerNode container:
                foreach (var layer in container.Children.SelectMany(Layers))
                {
                    yield return layer;
                }

                break;
            case AttentionNode attention:
                yield return attention.Projection;
                yield return attention.OutProjection;
                break;
            case EncoderLayerNode encoder:
                // TorchSharp's order: self_attn, linear1, linear2, norm1, norm2 (the dropouts hold nothing).
                foreach (var layer in Layers(encoder.Attention).Concat([encoder.Linear1, encoder.Linear2, encoder.Norm1, encoder.Norm2]))
                {
                    yield return layer;
                }

                break;
            case EncoderNode stack:
                foreach (var layer in stack.Layers.SelectMany(Layers))
                {
                    yield return layer;
                }

                break;
            case UserModuleNode user:
                // A module's own Parameters and buffers come before its children's, as TorchSharp registers them.
                foreach (var tensor in user.Tensors)
                {
                    yield return tensor;
                }

                foreach (var layer in user.Children.SelectMany(Layers))
                {
                    yield return layer;
                }

                break;
        }
    }

    /// <summary>
    /// Reads the model class. Its constructor's parameters are bound by the schema's <c>arguments:</c> block, else by
    /// their default values; a parameter neither binds is unbound, and a size that uses it is NS1003 saying how to
    /// bind it. An argument that names no parameter is NS1017; one whose value does not fit the type, NS1018.
    /// </summary>
    public UserModuleNode ReadRoot(INamedTypeSymbol type, SyntaxNode site, FeatureSchema? schema)
    {
        var scope = new ConstScope(_context);
        IObjectCreationOperation? made = null;
        if (schema?.Factory is { } factoryName)
        {
            // factory: ResNet18 — the static method builds the model with 'new ResNet(...)'; the schema's arguments bind
            // the factory's parameters, and the constructor's are bound from the arguments it passes.
            made = FactoryCreation(type, factoryName, out var factory);
            if (made is null || factory is null)
            {
                var candidates = type.GetMembers().OfType<IMethodSymbol>().Where(m => m.IsStatic && SymbolEqualityComparer.Default.Equals(m.ReturnType, type)).Select(m => m.Name).Distinct().ToList();
                _context.Report(
                    ModelDiagnostics.SchemaArgumentUnknown,
                    schema.FactoryLocation!,
                    "factory: " + factoryName,
                    _context.SchemaName,
                    $"static method of {type.Name} whose body returns 'new {type.Name}(...)'",
                    candidates.Count == 0 ? $"{type.Name} declares no static method returning it" : "expected one of: " + string.Join(", ", candidates));
                return new UserModuleNode(string.Empty, site, type);
            }

            BindSchemaArguments(type, factory.Parameters, schema, scope, $"the {factory.Name} factory");
            var inner = new ConstScope(_context);
            Bind(made.Arguments, scope, inner, type.Name);
            return ReadUser(type, string.Empty, site, made.Constructor, inner);
        }

        var ctor = RootConstructor(type, schema);
        BindSchemaArguments(type, ctor?.Parameters ?? [], schema, scope, $"the {type.Name} constructor");
        return ReadUser(type, string.Empty, site, ctor, scope);
    }

    /// <summary>
    /// The 'new T(...)' a static factory method of <paramref name="type"/> returns (expression body or a single
    /// return), or null.
    /// </summary>
    private IObjectCreationOperation? FactoryCreation(INamedTypeSymbol type, string name, out IMethodSymbol? factory)
    {
        factory = type.GetMembers(name).OfType<IMethodSymbol>().FirstOrDefault(m => m.IsStatic && SymbolEqualityComparer.Default.Equals(m.ReturnType, type) && m.DeclaringSyntaxReferences.Length > 0);
        if (factory is null || factory.DeclaringSyntaxReferences[0].GetSyntax(_ct) is not MethodDeclarationSyntax syntax
            || _models.Get(syntax.SyntaxTree).GetOperation(syntax, _ct) is not IMethodBodyOperation body)
        {
            return null;
        }

        var returned = (body.BlockBody ?? body.ExpressionBody)?.Operations.OfType<IReturnOperation>().ToList();
        return returned is { Count: 1 } && Unwrap(returned[0].ReturnedValue) is IObjectCreationOperation creation
            && SymbolEqualityComparer.Default.Equals(creation.Type, type) ? creation : null;
    }

    /// <summary>Binds <paramref name="parameters"/> from the schema's arguments, else their defaults; reports arguments that name none.</summary>
    private void BindSchemaArguments(INamedTypeSymbol type, ImmutableArray<IParameterSymbol> parameters, FeatureSchema? schema, ConstScope scope, string what)
    {
        var arguments = schema?.Arguments ?? EquatableArray<SchemaArgument>.Empty;
        foreach (var p in parameters)
        {
            var given = SchemaArguments.Find(arguments, p.Name);
            var origin = new UnboundOrigin(p.Name, [], type.Name, _context.SchemaName, given is not null);
            scope.Set(
                p,
                given is not null
                    ? _context.FromSchema(given.Value, p.Type, p.Name, $"parameter '{p.Name}' of {what}", origin)
                    : p.HasExplicitDefaultValue ? ConstBinding.Of(ConstantEvaluator.Convert(ConstantEvaluator.Normalize(p.ExplicitDefaultValue), p.Type))
                    : ConstBinding.Unbound(origin));
        }

        foreach (var argument in arguments)
        {
            if (!parameters.Any(p => p.Name == argument.Name))
            {
                _context.Report(
                    ModelDiagnostics.SchemaArgumentUnknown,
                    argument.Location,
                    argument.Name,
                    _context.SchemaName,
                    $"parameter of {what}",
                    parameters.IsEmpty ? $"{what} takes no parameters" : "expected one of: " + string.Join(", ", parameters.Select(p => p.Name)));
            }
        }
    }

    /// <summary>
    /// The constructor that builds the model: the only one declared, else the parameterless one (it follows a
    /// <c>this(...)</c> chain with constant arguments), else the one the schema's <c>arguments:</c> bind: every
    /// argument names one of its parameters and every parameter without a default is given. Several with parameters
    /// and no such choice leave the sizes unknowable.
    /// </summary>
    private IMethodSymbol? RootConstructor(INamedTypeSymbol type, FeatureSchema? schema)
    {
        var declared = type.InstanceConstructors.Where(c => !c.IsImplicitlyDeclared && c.DeclaringSyntaxReferences.Length > 0).ToList();
        if (declared.Count <= 1)
        {
            return declared.FirstOrDefault();
        }

        var parameterless = declared.FirstOrDefault(c => c.Parameters.IsEmpty);
        if (parameterless is not null)
        {
            return parameterless;
        }

        var arguments = schema?.Arguments ?? EquatableArray<SchemaArgument>.Empty;
        var bound = declared.Where(c =>
            arguments.All(a => c.Parameters.Any(p => p.Name == a.Name))
            && c.Parameters.All(p => p.HasExplicitDefaultValue || SchemaArguments.Find(arguments, p.Name) is not null)).ToList();
        if (arguments.Count > 0 && bound.Count == 1)
        {
            return bound[0];
        }

        var syntax = declared[1].DeclaringSyntaxReferences[0].GetSyntax(_ct);
        _diagnostics.Unsupported(
            syntax is ConstructorDeclarationSyntax c ? c.ParameterList : syntax,
            "constructor",
            type.Name,
            bound.Count > 1
                ? $"the schema's arguments bind {bound.Count} of the model's constructors; name a parameter only one of them has, so the reader knows which one builds the modules"
                : "the model class has several constructors with parameters and none without; bind the parameters of the one that builds the modules with 'arguments:' in the schema (every parameter without a default, and only that constructor's)");
        return declared[0];
    }

    private UserModuleNode ReadUser(INamedTypeSymbol type, string path, SyntaxNode site, IMethodSymbol? ctor, ConstScope scope)
    {
        _ct.ThrowIfCancellationRequested();
        var node = new UserModuleNode(path, site, type) { Scope = scope };
        if (_inProgress.Count >= MaxDepth || _inProgress.Contains(type, SymbolEqualityComparer.Default))
        {
            _diagnostics.Unsupported(site, "module", path.Length == 0 ? type.Name : path, $"module class '{type.Name}' contains itself (directly or through other modules)");
            return node;
        }

        _inProgress.Add(type);
        try
        {
            var state = new ConstructorState(scope);
            RunConstructor(type, ctor, runInitializers: true, state);
            ReadFields(node, state);
            if (!state.Registered && node.Fields.Keys.Any(f => IsRegistered(f.Type)))
            {
                _diagnostics.Add(ModelDiagnostics.ComponentsNotRegistered, type.Locations[0], "modules read as if registered", null, null, type.Name);
            }
        }
        finally
        {
            _inProgress.RemoveAt(_inProgress.Count - 1);
        }

        return node;
    }

    private sealed class ConstructorState
    {
        public ConstructorState(ConstScope scope) => Scope = scope;

        /// <summary>Parameters of the constructors run so far and readonly fields assigned constants.</summary>
        public ConstScope Scope { get; }

        /// <summary>Whether a constructor that runs calls RegisterComponents().</summary>
        public bool Registered { get; set; }

        /// <summary>register_parameter/register_buffer calls: name, tensor, scope, whether a buffer, the statement.</summary>
        public List<(IOperation Name, IOperation Tensor, ConstScope Scope, bool Buffer, SyntaxNode Site, IFieldSymbol? Field)> Registrations { get; } = [];

        /// <summary>Modules added to a ModuleList or ModuleDict field after its creation, in order.</summary>
        public Dictionary<IFieldSymbol, ModuleListBox> Added { get; } = new(SymbolEqualityComparer.Default);

        /// <summary>Helper methods being run, innermost last (a bound on recursion).</summary>
        public int HelperDepth { get; set; }

        /// <summary>Tensor fields as the last RegisterComponents() call found them (non-null values only).</summary>
        public Dictionary<IFieldSymbol, (IOperation Value, ConstScope Scope)> RegisteredTensors { get; } = new(SymbolEqualityComparer.Default);

        /// <summary>register_module calls: the name, the module, and whether RegisterComponents had run before it.</summary>
        public List<(IOperation Name, ConstScope Scope, ModuleInstance Module, SyntaxNode Site, bool AfterFields)> ExplicitModules { get; } = [];

        /// <summary>Array fields of modules with their slots as the constructor filled them.</summary>
        public Dictionary<IFieldSymbol, ModuleArray> Arrays { get; } = new(SymbolEqualityComparer.Default);

        /// <summary>Last assignment of each module or tensor field, with the scope it is evaluated in.</summary>
        public Dictionary<IFieldSymbol, (IOperation Value, ConstScope Scope)> Assignments { get; } = new(SymbolEqualityComparer.Default);
    }

    /// <summary>C# order: initialisers of the type that calls base(...), the base constructor, then the body.</summary>
    private void RunConstructor(INamedTypeSymbol type, IMethodSymbol? ctor, bool runInitializers, ConstructorState state)
    {
        _ct.ThrowIfCancellationRequested();
        IConstructorBodyOperation? body = null;
        if (ctor is not null && ctor.DeclaringSyntaxReferences.Length > 0 && ctor.DeclaringSyntaxReferences[0].GetSyntax(_ct) is ConstructorDeclarationSyntax syntax)
        {
            body = _models.Get(syntax.SyntaxTree).GetOperation(syntax, _ct) as IConstructorBodyOperation;
        }

        var chained = Unwrap(body?.Initializer) as IInvocationOperation;
        var where = type.Name + " constructor";
        if (chained is not null && SymbolEqualityComparer.Default.Equals(chained.TargetMethod.ContainingType, type))
        {
            Bind(chained.Arguments, state.Scope, state.Scope, type.Name);
            RunConstructor(type, chained.TargetMethod, runInitializers, state);
        }
        else
        {
            if (runInitializers)
            {
                RunInitializers(type, state);
            }

            if (TorchSymbols.IsUserModule(type.BaseType) && type.BaseType is { } baseType)
            {
                var baseCtor = chained?.TargetMethod ?? baseType.InstanceConstructors.FirstOrDefault(c => c.Parameters.IsEmpty);
                if (chained is not null)
                {
                    Bind(chained.Arguments, state.Scope, state.Scope, baseType.Name);
                }

                RunConstructor(baseType, baseCtor, runInitializers: true, state);
            }
        }

        if (body?.BlockBody is { } block)
        {
            RunBody(block, state, where);
        }
        else if (body?.ExpressionBody is { } expression)
        {
            RunStatement(expression, state, where);
        }
    }

    private void RunInitializers(INamedTypeSymbol type, ConstructorState state)
    {
        foreach (var field in type.GetMembers().OfType<IFieldSymbol>())
        {
            if (field.IsStatic || field.DeclaringSyntaxReferences.Length == 0)
            {
                continue;
            }

            if (field.DeclaringSyntaxReferences[0].GetSyntax(_ct) is VariableDeclaratorSyntax { Initializer: { } init }
                && _models.Get(init.SyntaxTree).GetOperation(init, _ct) is IFieldInitializerOperation op)
            {
                Assign(field, op.Value, state);
            }
        }
    }

    private void RunBody(IBlockOperation block, ConstructorState state, string where)
    {
        foreach (var statement in block.Operations)
        {
            RunStatement(statement, state, where);
        }
    }

    private void RunStatement(IOperation statement, ConstructorState state, string where)
    {
        // One budget of statements for all constructor code of a model: nested loops and helpers cannot make a build
        // run for minutes. Overrunning it is an error at the statement where it ran out.
        if (++_statements > MaxStatements)
        {
            if (_statements == MaxStatements + 1)
            {
                _diagnostics.Unsupported(statement.Syntax, "statement", where, $"the reader runs at most {MaxStatements} statements of constructor code per model, loops and helpers included");
            }

            return;
        }

        switch (statement)
        {
            case IBlockOperation block:
                RunBody(block, state, where);
                return;
            case IExpressionStatementOperation { Operation: ISimpleAssignmentOperation { Target: IFieldReferenceOperation target } assignment }
                when IsThisField(target):
                Assign(target.Field, assignment.Value, state);
                return;

            // layers[i] = layer: a slot of an array field of modules.
            case IExpressionStatementOperation { Operation: ISimpleAssignmentOperation { Target: IArrayElementReferenceOperation { ArrayReference: IFieldReferenceOperation arrayField, Indices.Length: 1 } slot } assignment }
                when IsThisField(arrayField) && state.Arrays.TryGetValue(arrayField.Field, out var array):
            {
                var index = ConstantEvaluator.Evaluate(slot.Indices[0], state.Scope).Value;
                if (index is not long i || i < 0 || i >= array.Slots.Length || Instance(assignment.Value, state.Scope) is not { } module)
                {
                    _diagnostics.Unsupported(statement.Syntax, "statement", where, $"a slot of module array '{arrayField.Field.Name}' must be set by an index known at build time, within its {array.Slots.Length} slots, to a module");
                    return;
                }

                array.Slots[i] = module;
                return;
            }

            // InputScale = inputScale: an auto-property of the module holding a number, as a readonly field would.
            case IExpressionStatementOperation { Operation: ISimpleAssignmentOperation { Target: IPropertyReferenceOperation { Instance: null or IInstanceReferenceOperation } property } assignment }
                when !IsRegistered(property.Property.Type) && property.Property.SetMethod is null or { DeclaringSyntaxReferences.Length: > 0 } && IsAutoProperty(property.Property):
            {
                var r = ConstantEvaluator.Evaluate(assignment.Value, state.Scope);
                state.Scope.Set(property.Property, r.IsConstant ? ConstBinding.Of(ConstantEvaluator.Convert(r.Value, property.Property.Type)) : r.FailedBinding ?? ConstBinding.NonConstant());
                return;
            }
            case IExpressionStatementOperation { Operation: IInvocationOperation { TargetMethod.Name: "Add", Arguments.Length: 1 } add }
                when add.Instance is { } list && ConstantEvaluator.Evaluate(list, state.Scope).Value is ModuleListBox box:
                box.Add(add.Arguments[0].Value, state.Scope.Clone());
                return;
            case IExpressionStatementOperation { Operation: IInvocationOperation helper } when IsOwnHelper(helper):
                RunHelper(helper, state, where);
                return;
            case IExpressionStatementOperation { Operation: IInvocationOperation call }:
                if (call.TargetMethod.Name == "RegisterComponents" && call.Instance is null or IInstanceReferenceOperation && TorchSymbols.IsModule(call.TargetMethod.ContainingType))
                {
                    state.Registered = true;

                    // RegisterComponents registers the tensors fields hold now: one assigned later (a mask built after
                    // the call, noise drawn in a helper) is no buffer unless registered by name.
                    foreach (var assigned in state.Assignments)
                    {
                        if (TorchSymbols.IsTensor(assigned.Key.Type) && Unwrap(assigned.Value.Value)?.ConstantValue is not { HasValue: true, Value: null })
                        {
                            state.RegisteredTensors[assigned.Key] = assigned.Value;
                        }
                    }
                }
                else if (call.Instance is IFieldReferenceOperation { Field.Type: INamedTypeSymbol containerType } container && IsThisField(container)
                    && IsContainerType(containerType) && call.TargetMethod.Name is "Add" or "append" && call.Arguments.Length is 1 or 2
                    && state.Assignments.TryGetValue(container.Field, out var created) && Unwrap(created.Value) is IObjectCreationOperation)
                {
                    // parts.Add("lin1", Linear(...)) on a ModuleDict (or Add/append on a ModuleList) created in this class.
                    if (!state.Added.TryGetValue(container.Field, out var box))
                    {
                        box = new ModuleListBox([]);
                        state.Added[container.Field] = box;
                    }

                    var args = call.Arguments.OrderBy(a => a.Parameter?.Ordinal ?? 0).ToList();
                    box.Add(args[args.Count - 1].Value, state.Scope.Clone(), args.Count == 2 ? args[0].Value : null);
                }
                else if (call.Instance is IFieldReferenceOperation receiver && IsThisField(receiver) && IsRegistered(receiver.Field.Type))
                {
                    _diagnostics.Unsupported(statement.Syntax, "call", where, $"the reader reads a module from its factory call; changing '{receiver.Field.Name}' after creation is not followed");
                }
                else if (call.TargetMethod.Name is "register_parameter" or "register_buffer" && TorchSymbols.IsModule(call.TargetMethod.ContainingType) && call.Arguments.Length >= 2)
                {
                    // register_buffer("mask", torch.tril(torch.ones(8, 8))): a tensor of this module under that name.
                    var ordered = call.Arguments.OrderBy(a => a.Parameter?.Ordinal ?? 0).ToList();
                    var (tensor, tensorScope) = (ordered[1].Value, state.Scope.Clone());
                    IFieldSymbol? heldBy = null;
                    if (Unwrap(tensor) is IFieldReferenceOperation held && IsThisField(held) && state.Assignments.TryGetValue(held.Field, out var heldValue))
                    {
                        // register_buffer("mask", mask): the tensor the field holds now, which forward reads through the field.
                        (tensor, tensorScope, heldBy) = (heldValue.Value, heldValue.Scope, held.Field);
                    }

                    state.Registrations.Add((ordered[0].Value, tensor, tensorScope, call.TargetMethod.Name == "register_buffer", statement.Syntax, heldBy));
                }
                else if (call.TargetMethod.Name is "register_module" && TorchSymbols.IsModule(call.TargetMethod.ContainingType) && call.Arguments.Length == 2
                    && call.Instance is null or IInstanceReferenceOperation)
                {
                    // register_module($"i{i}", layer): a child under that name, after what was registered before it.
                    var ordered = call.Arguments.OrderBy(a => a.Parameter?.Ordinal ?? 0).ToList();
                    if (Instance(ordered[1].Value, state.Scope) is { } module)
                    {
                        state.ExplicitModules.Add((ordered[0].Value, state.Scope.Clone(), module, statement.Syntax, state.Registered));
                    }
                    else
                    {
                        _diagnostics.Unsupported(statement.Syntax, "call", where, "register_module needs a module made here: a torch.nn factory call, new of a module class, or a local holding one");
                    }
                }

                return;
            case IVariableDeclarationGroupOperation group:
                foreach (var declaration in group.Declarations)
                {
                    foreach (var declarator in declaration.Declarators)
                    {
                        if ((declarator.Initializer ?? declaration.Initializer) is { } init)
                        {
                            SetLocal(declarator.Symbol, init.Value, state);
                        }
                    }
                }

                return;
            case IEmptyOperation:
                return;
            case IExpressionStatementOperation { Operation: ISimpleAssignmentOperation { Target: ILocalReferenceOperation local } assignment }:
                SetLocal(local.Local, assignment.Value, state);
                return;
            case IExpressionStatementOperation { Operation: ISimpleAssignmentOperation { Target: IParameterReferenceOperation parameter } assignment }:
                SetLocal(parameter.Parameter, assignment.Value, state);
                return;
            case IExpressionStatementOperation { Operation: ICompoundAssignmentOperation { Target: ILocalReferenceOperation local } compound }:
            {
                var now = ConstantEvaluator.Evaluate(compound.Target, state.Scope);
                var by = ConstantEvaluator.Evaluate(compound.Value, state.Scope);
                var r = now.IsConstant && by.IsConstant ? ConstantEvaluator.Arithmetic(compound.OperatorKind, now.Value, by.Value) : ConstResult.Fail();
                state.Scope.Set(local.Local, r.IsConstant ? ConstBinding.Of(r.Value) : ConstBinding.NonConstant());
                return;
            }

            case IExpressionStatementOperation { Operation: IIncrementOrDecrementOperation { Target: ILocalReferenceOperation local } step }:
                Step(local.Local, step, state);
                return;
            case IForLoopOperation loop when Unroll(loop, state, where):
                return;
            case IForEachLoopOperation loop when ForEach(loop, state, where):
                return;

            // if on a bound value (stride != 1 picks a projection shortcut; device != null moves the module): the
            // branch that runs, as C# would run it.
            case IConditionalOperation branch when ConstantEvaluator.Evaluate(branch.Condition, state.Scope).Value is bool taken:
                if (taken)
                {
                    RunStatement(branch.WhenTrue, state, where);
                }
                else if (branch.WhenFalse is { } otherwise)
                {
                    RunStatement(otherwise, state, where);
                }

                return;
        }

        // Any other statement (if, loops, ...) may or may not run; a module field assigned inside it has no
        // value the reader can know, nor has a module list added to inside it.
        foreach (var d in statement.Descendants())
        {
            if (d is IInvocationOperation { TargetMethod.Name: "Add" or "AddRange" or "Insert" } grow && grow.Instance is { } target
                && ConstantEvaluator.Evaluate(target, state.Scope).Value is ModuleListBox grown)
            {
                grown.Fail($"modules are added to it in a statement the reader cannot run at build time ({Kind(statement)})", statement.Syntax);
            }

            if (d is ISimpleAssignmentOperation { Target: IFieldReferenceOperation f } && IsThisField(f) && IsRegistered(f.Field.Type))
            {
                _diagnostics.Unsupported(statement.Syntax, "statement", where, $"module field '{f.Field.Name}' must be assigned by a top-level statement of the constructor or by its initialiser");
                return;
            }
        }
    }

    private static string Kind(IOperation statement) => statement switch
    {
        IConditionalOperation => "an if whose condition is not known",
        ILoopOperation => "a loop whose bounds are not known or that runs more than " + MaxIterations.ToString(CultureInfo.InvariantCulture) + " times",
        _ => "a statement it has no rule for",
    };

    /// <summary>Bound on unrolled iterations of one constructor loop (a hostile model cannot make the build spin).</summary>
    private const int MaxIterations = 4096;

    /// <summary>
    /// A local of constructor code: a list of modules (a new List, an array of modules, a collection initialiser)
    /// becomes a <see cref="ModuleListBox"/>; anything else is bound to its constant value or marked not constant.
    /// </summary>
    private void SetLocal(ISymbol local, IOperation value, ConstructorState state)
    {
        if (TorchSymbols.IsModule(value.Type) && Instance(value, state.Scope) is { } module)
        {
            state.Scope.Set(local, ConstBinding.Of(module));
            return;
        }

        if (ListElements(value, state.Scope, out var problem) is { } items)
        {
            state.Scope.Set(local, ConstBinding.Of(new ModuleListBox(items)));
            return;
        }

        if (problem is not null)
        {
            state.Scope.Set(local, ConstBinding.Of(new ModuleListBox([], problem, value.Syntax)));
            return;
        }

        var r = ConstantEvaluator.Evaluate(value, state.Scope);
        var type = local is ILocalSymbol l ? l.Type : ((IParameterSymbol)local).Type;
        state.Scope.Set(local, r.IsConstant ? ConstBinding.Of(ConstantEvaluator.Convert(r.Value, type)) : r.FailedBinding ?? ConstBinding.NonConstant());
    }

    private static void Step(ILocalSymbol local, IIncrementOrDecrementOperation step, ConstructorState state)
    {
        var now = state.Scope.Get(local);
        state.Scope.Set(
            local,
            now is { IsConstant: true, Value: long v } ? ConstBinding.Of(step.Kind == OperationKind.Increment ? v + 1 : v - 1) : ConstBinding.NonConstant());
    }

    /// <summary>
    /// The modules of a list expression with the scope each is read in: an array or collection expression, a new
    /// List with a collection initialiser (or empty), a local or parameter holding a list, .ToArray()/.ToList() of
    /// one, and Enumerable.Range(start, count).Select(i => ...) with constant bounds. Null when the expression is no
    /// list of modules (<paramref name="problem"/> says why when it is one the reader cannot follow).
    /// </summary>
    private ImmutableArray<ListItem>? ListElements(IOperation value, ConstScope scope, out string? problem)
    {
        problem = null;
        var op = Unwrap(value)!;
        switch (op)
        {
            case IArrayCreationOperation { Initializer: { } init } when HoldsModules(op.Type):
                return [.. init.ElementValues.Select(e => new ListItem(e, scope))];
            case IArrayCreationOperation when HoldsModules(op.Type):
                problem = "an array of modules without an initialiser";
                return null;
            case ICollectionExpressionOperation collection when HoldsModules(op.Type) && collection.Elements.All(e => e is not ISpreadOperation):
                return [.. collection.Elements.Select(e => new ListItem(e, scope))];
            case IObjectCreationOperation creation when HoldsModules(op.Type):
            {
                if (creation.Arguments.Length > 0 && creation.Arguments.Any(a => HoldsModules(a.Value.Type)))
                {
                    problem = "a list copied from another collection";
                    return null;
                }

                var items = ImmutableArray.CreateBuilder<ListItem>();
                if (creation.Initializer is { } initializer)
                {
                    foreach (var init in initializer.Initializers)
                    {
                        if (init is IInvocationOperation { TargetMethod.Name: "Add", Arguments.Length: 1 } add)
                        {
                            items.Add(new ListItem(add.Arguments[0].Value, scope));
                        }
                        else
                        {
                            problem = "a collection initialiser the reader cannot follow";
                            return null;
                        }
                    }
                }

                return items.ToImmutable();
            }

            case ILocalReferenceOperation or IParameterReferenceOperation when ConstantEvaluator.Evaluate(op, scope).Value is ModuleListBox box:
                problem = box.Problem;
                return box.Problem is null ? box.Items : null;
            case IInvocationOperation { TargetMethod.Name: "ToArray" or "ToList" } copy when (copy.Instance ?? copy.Arguments.FirstOrDefault()?.Value) is { } source && HoldsModules(op.Type):
                return ListElements(source, scope, out problem);
            case IInvocationOperation { TargetMethod.Name: "Select" } select when HoldsModules(op.Type):
                return Selected(select, scope, out problem);
            default:
                if (HoldsModules(op.Type))
                {
                    problem = "the reader follows lists built in the constructor (new List, Add, constant loops, Enumerable.Range(...).Select)";
                }

                return null;
        }
    }

    /// <summary>Enumerable.Range(start, count).Select(i => module): the lambda's value for each i, with i bound.</summary>
    private ImmutableArray<ListItem>? Selected(IInvocationOperation select, ConstScope scope, out string? problem)
    {
        problem = "Select over something other than Enumerable.Range with constant bounds";
        var args = select.Arguments;
        if (args.Length != 2
            || Unwrap(args[0].Value) is not IInvocationOperation { TargetMethod.Name: "Range", Arguments.Length: 2 } range
            || ConstantEvaluator.Evaluate(range.Arguments[0].Value, scope).Value is not long start
            || ConstantEvaluator.Evaluate(range.Arguments[1].Value, scope).Value is not long count
            || count < 0 || count > MaxIterations
            || Unwrap(args[1].Value) is not IDelegateCreationOperation { Target: IAnonymousFunctionOperation lambda }
            || lambda.Symbol.Parameters.Length != 1
            || lambda.Body.Operations.Length != 1
            || lambda.Body.Operations[0] is not IReturnOperation { ReturnedValue: { } result })
        {
            return null;
        }

        problem = null;
        var items = ImmutableArray.CreateBuilder<ListItem>();
        for (var i = 0L; i < count; i++)
        {
            var inner = scope.Clone();
            inner.Set(lambda.Symbol.Parameters[0], ConstBinding.Of(start + i));
            items.Add(new ListItem(result, inner));
        }

        return items.ToImmutable();
    }

    /// <summary>Whether a type is a collection (array, List, IList, IEnumerable) of modules or of (name, module) tuples.</summary>
    private static bool HoldsModules(ITypeSymbol? type)
    {
        var element = type switch
        {
            IArrayTypeSymbol array => array.ElementType,
            INamedTypeSymbol { IsGenericType: true, TypeArguments.Length: 1 } named when named.Name is "List" or "IList" or "IEnumerable" or "IReadOnlyList" or "ICollection" => named.TypeArguments[0],
            _ => null,
        };
        return element is not null
            && (TorchSymbols.IsModule(element) || (element is INamedTypeSymbol { IsTupleType: true } tuple && tuple.TupleElements.Length == 2 && TorchSymbols.IsModule(tuple.TupleElements[1].Type)));
    }

    /// <summary>A call of a method of this module class declared in source (a helper that builds layers or lists).</summary>
    private static bool IsOwnHelper(IInvocationOperation call) =>
        call.Instance is null or IInstanceReferenceOperation
        && call.TargetMethod is { IsVirtual: false, IsAbstract: false, MethodKind: MethodKind.Ordinary } method
        && method.DeclaringSyntaxReferences.Length > 0
        && TorchSymbols.IsUserModule(method.ContainingType);

    /// <summary>Runs a helper method's body with its parameters bound to the arguments (a list argument is the same list).</summary>
    private void RunHelper(IInvocationOperation call, ConstructorState state, string where)
    {
        if (state.HelperDepth >= 16 || call.TargetMethod.DeclaringSyntaxReferences[0].GetSyntax(_ct) is not MethodDeclarationSyntax syntax
            || _models.Get(syntax.SyntaxTree).GetOperation(syntax, _ct) is not IMethodBodyOperation { BlockBody: { } body })
        {
            _diagnostics.Unsupported(call.Syntax, "call", where, $"the reader follows helper methods with a block body, {16} calls deep");
            return;
        }

        foreach (var argument in call.Arguments)
        {
            if (argument.Parameter is { } parameter)
            {
                var r = ConstantEvaluator.Evaluate(argument.Value, state.Scope);
                state.Scope.Set(parameter, r.IsConstant ? ConstBinding.Of(r.Value) : r.FailedBinding ?? ConstBinding.NonConstant());
            }
        }

        state.HelperDepth++;
        try
        {
            RunBody(body, state, where);
        }
        finally
        {
            state.HelperDepth--;
        }
    }

    /// <summary>A for loop with bounds known at build time, unrolled (at most <see cref="MaxIterations"/> times); false when it is not.</summary>
    private bool Unroll(IForLoopOperation loop, ConstructorState state, string where)
    {
        if (loop.Condition is null)
        {
            return false;
        }

        foreach (var before in loop.Before)
        {
            if (before is IVariableDeclarationGroupOperation or IExpressionStatementOperation)
            {
                continue;
            }

            return false;
        }

        foreach (var before in loop.Before)
        {
            RunStatement(before, state, where);
        }

        for (var i = 0; ; i++)
        {
            if (_statements > MaxStatements)
            {
                return true;
            }

            if (ConstantEvaluator.Evaluate(loop.Condition, state.Scope).Value is not bool go || i > MaxIterations)
            {
                ReportUnrolled(loop, state, where);
                return true;
            }

            if (!go)
            {
                return true;
            }

            RunStatement(loop.Body, state, where);
            foreach (var bottom in loop.AtLoopBottom)
            {
                RunStatement(bottom, state, where);
            }
        }
    }

    /// <summary>A loop that stopped being knowable part way: what it adds or assigns afterwards is reported as unknown.</summary>
    private void ReportUnrolled(ILoopOperation loop, ConstructorState state, string where)
    {
        foreach (var d in loop.Descendants())
        {
            if (d is IInvocationOperation { TargetMethod.Name: "Add" or "AddRange" or "Insert" } grow && grow.Instance is { } target
                && ConstantEvaluator.Evaluate(target, state.Scope).Value is ModuleListBox grown)
            {
                grown.Fail($"modules are added to it in {Kind(loop)}", loop.Syntax);
            }
            else if (d is ISimpleAssignmentOperation { Target: IFieldReferenceOperation f } && IsThisField(f) && IsRegistered(f.Field.Type))
            {
                _diagnostics.Unsupported(loop.Syntax, "statement", where, $"module field '{f.Field.Name}' is assigned in {Kind(loop)}");
                return;
            }
        }
    }

    /// <summary>foreach over a constant array of numbers (a channel plan): the body once per element.</summary>
    private bool ForEach(IForEachLoopOperation loop, ConstructorState state, string where)
    {
        if (ConstantEvaluator.Evaluate(loop.Collection is IConversionOperation c ? c.Operand : loop.Collection, state.Scope).Value is not long[] values
            || values.Length > MaxIterations
            || loop.LoopControlVariable is not IVariableDeclaratorOperation { Symbol: { } variable })
        {
            return false;
        }

        foreach (var v in values)
        {
            if (_statements > MaxStatements)
            {
                break;
            }

            state.Scope.Set(variable, ConstBinding.Of(ConstantEvaluator.Convert(v, variable.Type)));
            RunStatement(loop.Body, state, where);
        }

        return true;
    }

    /// <summary>Appends a size argument's value (a number, or an array of them); false when it is not known.</summary>
    private static bool AddSizes(List<long> dims, IOperation value, ConstScope scope)
    {
        switch (ConstantEvaluator.Evaluate(value, scope).Value)
        {
            case long n:
                dims.Add(n);
                return true;
            case long[] many:
                dims.AddRange(many);
                return true;
            default:
                return false;
        }
    }

    private static TensorSpec? Reshaped(TensorSpec inner, ImmutableArray<IArgumentOperation> arguments, ConstScope scope)
    {
        var dims = new List<long>();
        foreach (var argument in arguments.Where(a => a.ArgumentKind != ArgumentKind.DefaultValue))
        {
            if (!AddSizes(dims, argument.Value, scope))
            {
                return null;
            }
        }

        var count = inner.Dims.Aggregate(1L, (a, d) => a * d);
        var known = dims.Where(d => d != -1).Aggregate(1L, (a, d) => a * d);
        var free = dims.FindIndex(d => d == -1);
        if (dims.Count(d => d == -1) > 1 || dims.Any(d => d == 0 || d < -1) || known == 0)
        {
            return null;
        }

        if (free >= 0)
        {
            dims[free] = count / known;
        }

        return dims.Aggregate(1L, (a, d) => a * d) == count ? new TensorSpec(dims.ToEquatableArray(), inner.IsBuffer, inner.Init) : null;
    }

    /// <summary>unsqueeze(d) or transpose(a, b) of a tensor whose shape is known; null when an axis is not.</summary>
    private static TensorSpec? Rearranged(TensorSpec inner, IInvocationOperation call, ConstScope scope)
    {
        var dims = inner.Dims.ToList();
        var axes = new List<long>();
        foreach (var argument in call.Arguments.Where(a => a.ArgumentKind != ArgumentKind.DefaultValue).OrderBy(a => a.Parameter?.Ordinal ?? 0))
        {
            if (ConstantEvaluator.Evaluate(argument.Value, scope).Value is not long axis)
            {
                return null;
            }

            axes.Add(axis);
        }

        if (call.TargetMethod.Name == "unsqueeze" && axes.Count == 1 && axes[0] >= -(dims.Count + 1) && axes[0] <= dims.Count)
        {
            dims.Insert((int)(axes[0] < 0 ? axes[0] + dims.Count + 1 : axes[0]), 1);
        }
        else if (call.TargetMethod.Name == "transpose" && axes.Count == 2 && axes.All(a => a >= -dims.Count && a < dims.Count))
        {
            int a0 = (int)(axes[0] < 0 ? axes[0] + dims.Count : axes[0]), a1 = (int)(axes[1] < 0 ? axes[1] + dims.Count : axes[1]);
            (dims[a0], dims[a1]) = (dims[a1], dims[a0]);
        }
        else
        {
            return null;
        }

        return new TensorSpec(dims.ToEquatableArray(), inner.IsBuffer, inner.Init);
    }

    /// <summary>
    /// The initializer of a constructor local that nothing assigns again (element writes through its indexer do not
    /// change its shape); null when it has none or is reassigned.
    /// </summary>
    private static IOperation? SingleInitializer(ILocalReferenceOperation local)
    {
        if (local.SemanticModel is not { } model
            || local.Local.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax() is not VariableDeclaratorSyntax { Initializer.Value: { } value } declarator)
        {
            return null;
        }

        var body = declarator.Ancestors().FirstOrDefault(a => a is BaseMethodDeclarationSyntax or LocalFunctionStatementSyntax or AnonymousFunctionExpressionSyntax);
        var reassigned = body?.DescendantNodes().OfType<AssignmentExpressionSyntax>().Any(a =>
            a.Left is IdentifierNameSyntax id && id.Identifier.ValueText == local.Local.Name
            && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(id).Symbol, local.Local)) ?? true;
        return reassigned ? null : model.GetOperation(value);
    }

    private const string TensorShapeReason =
        "the reader reads a tensor's shape from torch.zeros/ones/randn/rand/empty/eye(...) (or tril/triu of one), optionally inside Parameter(...), with sizes known at build time";

    /// <summary>
    /// The tensor a Parameter or buffer field is created with: Parameter(t) or new Parameter(t) around a torch factory
    /// with constant sizes (tril/triu keep their input's shape); null when its shape is not known at build time.
    /// </summary>
    private static TensorSpec? TensorSpecOf(IOperation value, ConstScope scope, bool buffer)
    {
        var op = Unwrap(value);
        for (var depth = 0; depth < 8 && op is not null; depth++)
        {
            switch (op)
            {
                case IInvocationOperation { TargetMethod.Name: "Parameter" } wrap when wrap.Arguments.Length >= 1:
                    op = Unwrap(wrap.Arguments.OrderBy(a => a.Parameter?.Ordinal ?? 0).First().Value);
                    continue;
                case IObjectCreationOperation create when TorchSymbols.IsParameter(create.Type) && create.Arguments.Length >= 1:
                    op = Unwrap(create.Arguments.OrderBy(a => a.Parameter?.Ordinal ?? 0).First().Value);
                    continue;
                case IInvocationOperation { TargetMethod.Name: "tril" or "triu" } band when band.Arguments.Length >= 1:
                    op = Unwrap(band.Instance ?? band.Arguments.OrderBy(a => a.Parameter?.Ordinal ?? 0).First().Value);
                    continue;

                // ones(n, n).tril().view(1, 1, n, n): the same elements in a new shape (one -1 is inferred).
                case IInvocationOperation { TargetMethod.Name: "view" or "reshape", Instance: { } reshaped } reshape
                    when TorchSymbols.IsTensor(reshaped.Type) && TensorSpecOf(reshaped, scope, buffer) is { } inner:
                    return Reshaped(inner, reshape.Arguments, scope);

                // pe.unsqueeze(0).transpose(0, 1): a position table made [maxLen, 1, d] (the TorchSharp sequence example).
                case IInvocationOperation { TargetMethod.Name: "unsqueeze" or "transpose", Instance: { } moved } axes
                    when TorchSymbols.IsTensor(moved.Type) && TensorSpecOf(moved, scope, buffer) is { } inner:
                    return Rearranged(inner, axes, scope);

                // A local made once and then filled element-wise (pe[.., Slice(0, null, 2)] = ...): its creation sets the shape.
                case ILocalReferenceOperation local when SingleInitializer(local) is { } initializer:
                    op = Unwrap(initializer);
                    continue;
                case IInvocationOperation factory when TorchSymbols.IsTorch(factory.TargetMethod.ContainingType):
                {
                    var init = factory.TargetMethod.Name switch
                    {
                        "zeros" => TensorInit.Zeros,
                        "ones" => TensorInit.Ones,
                        "randn" => TensorInit.Normal,
                        "rand" => TensorInit.Uniform,
                        "empty" => TensorInit.Other,
                        "eye" => TensorInit.Eye,
                        _ => (TensorInit?)null,
                    };
                    if (init is null)
                    {
                        return null;
                    }

                    // The size arguments: every long, int or long[] argument given (dtype, device and names are not).
                    var dims = new List<long>();
                    foreach (var argument in factory.Arguments.Where(a => a.ArgumentKind != ArgumentKind.DefaultValue).OrderBy(a => a.Parameter?.Ordinal ?? 0))
                    {
                        if (!TorchSymbols.IsSizeType(argument.Parameter?.Type))
                        {
                            continue;
                        }

                        if (!AddSizes(dims, argument.Value, scope))
                        {
                            return null;
                        }
                    }

                    if (init == TensorInit.Eye && dims.Count == 1)
                    {
                        dims.Add(dims[0]);
                    }

                    return dims.Count == 0 || dims.Any(d => d < 1) ? null : new TensorSpec(dims.ToEquatableArray(), buffer, init.Value);
                }

                default:
                    return null;
            }
        }

        return null;
    }

    /// <summary>TorchSharp's ModuleList, ModuleDict and Sequential classes (created with new).</summary>
    private static bool IsContainerType(INamedTypeSymbol type) =>
        TorchSymbols.IsModulesType(type, "ModuleList") || TorchSymbols.IsModulesType(type, "ModuleDict") || TorchSymbols.IsModulesType(type, "Sequential");

    private static bool IsThisField(IFieldReferenceOperation f) => !f.Field.IsStatic && f.Instance is IInstanceReferenceOperation;

    private static bool IsRegistered(ITypeSymbol type) => TorchSymbols.IsModule(type) || TorchSymbols.IsTensor(type);

    /// <summary>
    /// The module instance an expression makes or names: a local holding one keeps its identity; a factory call, a
    /// <c>new</c> or a conditional on a bound value makes a new one read in (a copy of) this scope. Null for anything else.
    /// </summary>
    private static ModuleInstance? Instance(IOperation value, ConstScope scope)
    {
        var op = Unwrap(value)!;
        return op switch
        {
            ILocalReferenceOperation or IParameterReferenceOperation => ConstantEvaluator.Evaluate(op, scope).Value as ModuleInstance,
            IInvocationOperation call when TorchSymbols.IsNn(call.TargetMethod.ContainingType) => new ModuleInstance(op, scope.Clone()),
            IObjectCreationOperation { Type: INamedTypeSymbol type } when TorchSymbols.IsUserModule(type) || IsContainerType(type) => new ModuleInstance(op, scope.Clone()),
            IConditionalOperation => new ModuleInstance(op, scope.Clone()),
            _ => null,
        };
    }

    private static bool IsAutoProperty(IPropertySymbol property) =>
        property.ContainingType.GetMembers().OfType<IFieldSymbol>().Any(f => SymbolEqualityComparer.Default.Equals(f.AssociatedSymbol, property));

    private static void Assign(IFieldSymbol field, IOperation value, ConstructorState state)
    {
        if (field.Type is IArrayTypeSymbol && HoldsModules(field.Type) && Unwrap(value) is IArrayCreationOperation { Initializer: null, DimensionSizes.Length: 1 } created)
        {
            // new Linear[n]: slots filled later (TorchSharp registers none of them).
            var length = ConstantEvaluator.Evaluate(created.DimensionSizes[0], state.Scope).Value;
            if (length is long n && n >= 0 && n <= ModuleListBox.MaxItems)
            {
                state.Arrays[field] = new ModuleArray((int)n, value.Syntax);
                return;
            }
        }

        if (IsRegistered(field.Type))
        {
            state.Assignments[field] = (value, state.Scope.Clone());
        }
        else
        {
            // A field assigned a constant (directly or from a constant constructor argument): readonly ones are as
            // fixed as a const and forward may use them as sizes; others (a running 'inPlanes' that helpers advance)
            // hold their value while constructor code runs, and forward treats them as unknown.
            var r = ConstantEvaluator.Evaluate(value, state.Scope);
            state.Scope.Set(field, r.IsConstant ? ConstBinding.Of(ConstantEvaluator.Convert(r.Value, field.Type)) : r.FailedBinding ?? ConstBinding.NonConstant());
        }
    }

    /// <summary>Binds a called constructor's parameters to the constant values of its arguments.</summary>
    private static void Bind(IEnumerable<IArgumentOperation> arguments, ConstScope evaluateIn, ConstScope bindInto, string callee)
    {
        foreach (var arg in arguments)
        {
            if (arg.Parameter is null)
            {
                continue;
            }

            var r = ConstantEvaluator.Evaluate(arg.Value, evaluateIn);
            bindInto.Set(
                arg.Parameter,
                r.IsConstant ? ConstBinding.Of(ConstantEvaluator.Convert(r.Value, arg.Parameter.Type))
                : r.FailedBinding is { } failed ? failed.EnteringAt(arg.ArgumentKind == ArgumentKind.DefaultValue ? null : arg.Value.Syntax, arg.Parameter.Name, callee)
                : ConstBinding.NonConstant(arg.ArgumentKind == ArgumentKind.DefaultValue ? null : arg.Value.Syntax, arg.Parameter.Name, callee));
        }
    }

    private void ReadFields(UserModuleNode node, ConstructorState state)
    {
        var names = new HashSet<string>(System.StringComparer.Ordinal);

        // Explicit registrations run in the constructor before RegisterComponents registers the fields.
        foreach (var (nameOp, tensorOp, scope, buffer, site, heldBy) in state.Registrations)
        {
            if (ConstantEvaluator.Evaluate(nameOp, scope).Value is not string { Length: > 0 } registered || !names.Add(registered))
            {
                _diagnostics.Unsupported(site, "call", node.Type.Name + " constructor", "the name of a registered tensor must be a constant, used once");
                continue;
            }

            if (TensorSpecOf(tensorOp, scope, buffer) is not { } spec)
            {
                _diagnostics.Unsupported(site, "call", node.Type.Name + " constructor", TensorShapeReason);
                continue;
            }

            var layer = new LayerNode(Join(node.Path, registered), site, buffer ? "buffer" : "Parameter", spec, new Dictionary<string, SyntaxNode>());
            node.Tensors.Add(layer);
            node.NamedTensors[registered] = layer;
            if (heldBy is not null)
            {
                node.TensorFields[heldBy] = layer;
            }
        }

        var instances = new Dictionary<ModuleInstance, ModuleNode>(); // reference identity, as C# objects
        RegisterExplicit(node, state, names, instances, afterFields: false);
        for (var t = node.Type; t is not null && TorchSymbols.IsUserModule(t); t = t.BaseType)
        {
            foreach (var field in t.GetMembers().OfType<IFieldSymbol>())
            {
                _ct.ThrowIfCancellationRequested();
                if (field.IsStatic || field.IsConst || !IsRegistered(field.Type))
                {
                    continue;
                }

                if (field.IsImplicitlyDeclared)
                {
                    if (field.AssociatedSymbol is IPropertySymbol property && property.DeclaringSyntaxReferences.Length > 0)
                    {
                        _diagnostics.Unsupported(
                            property.DeclaringSyntaxReferences[0].GetSyntax(_ct),
                            "auto-property",
                            t.Name,
                            "RegisterComponents() registers the compiler's backing field, whose name is not the property's; store modules and tensors in fields");
                    }

                    continue;
                }

                // A tensor field is registered with what it held at RegisterComponents() (without the call, as assigned).
                var assigned = default((IOperation Value, ConstScope Scope));
                _ = TorchSymbols.IsTensor(field.Type) && state.Registered
                    ? state.RegisteredTensors.TryGetValue(field, out assigned)
                    : state.Assignments.TryGetValue(field, out assigned);
                if (TorchSymbols.IsTensor(field.Type) && node.TensorFields.ContainsKey(field))
                {
                    continue; // registered by name (register_buffer("mask", mask)) after RegisterComponents
                }

                if (TorchSymbols.IsTensor(field.Type) && assigned.Value is null && state.Assignments.ContainsKey(field))
                {
                    node.LateTensorFields.Add(field);
                }

                var value = assigned.Value is null ? null : Unwrap(assigned.Value);
                if (value is not null && value.ConstantValue is { HasValue: true, Value: null })
                {
                    value = null;
                }

                if (TorchSymbols.IsTensor(field.Type))
                {
                    if (value is not null)
                    {
                        var parameter = TorchSymbols.IsParameter(value.Type) || TorchSymbols.IsParameter(field.Type);
                        var tensorName = ComponentName(field) ?? field.Name;
                        if (TensorSpecOf(value, assigned.Scope, buffer: !parameter) is { } spec && names.Add(tensorName))
                        {
                            var layer = new LayerNode(Join(node.Path, tensorName), value.Syntax, parameter ? "Parameter" : "buffer", spec, new Dictionary<string, SyntaxNode>());
                            node.Tensors.Add(layer);
                            node.TensorFields[field] = layer;
                            node.NamedTensors[tensorName] = layer;
                        }
                        else
                        {
                            _diagnostics.Add(
                                ModelDiagnostics.DirectParameterField,
                                field.Locations[0],
                                ReaderDiagnostic.GraphNotBuilt,
                                null,
                                null,
                                field.Name,
                                parameter ? "parameter" : "buffer",
                                t.Name);
                        }
                    }

                    continue;
                }

                var componentName = ComponentName(field) ?? field.Name;
                var path = Join(node.Path, componentName);
                if (!names.Add(componentName))
                {
                    _diagnostics.Unsupported(field.DeclaringSyntaxReferences[0].GetSyntax(_ct), "field", t.Name, $"state_dict name '{componentName}' is already used by another field (TorchSharp rejects it)");
                    continue;
                }

                if (value is null)
                {
                    if (assigned.Value is null)
                    {
                        _diagnostics.Add(ModelDiagnostics.ModuleFieldNotAssigned, field.Locations[0], "not registered", null, null, field.Name, t.Name);
                    }

                    node.Fields[field] = new FailedNode(path, field.DeclaringSyntaxReferences[0].GetSyntax(_ct), unassigned: true);
                    continue;
                }

                state.Added.TryGetValue(field, out var added);
                var child = ReadModule(value, path, assigned.Scope, t.Name + " constructor", added?.Items) ?? new FailedNode(path, value.Syntax, unassigned: true);
                node.Fields[field] = child;
                if (child is not FailedNode { Unassigned: true })
                {
                    node.Children.Add(child);
                    if (value is ILocalReferenceOperation or IParameterReferenceOperation && ConstantEvaluator.Evaluate(value, assigned.Scope).Value is ModuleInstance instance)
                    {
                        instances[instance] = child;
                    }
                }
            }
        }

        RegisterExplicit(node, state, names, instances, afterFields: true);

        // An array of modules is no child (TorchSharp registers none): forward reaches, through it, the modules that
        // register_module or a field registered under their own names.
        foreach (var entry in state.Arrays)
        {
            var (field, array) = (entry.Key, entry.Value);
            var children = new List<ModuleNode>();
            for (var i = 0; i < array.Slots.Length; i++)
            {
                var path = Join(node.Path, field.Name) + "[" + i.ToString(CultureInfo.InvariantCulture) + "]";
                if (array.Slots[i] is { } slot && instances.TryGetValue(slot, out var registered))
                {
                    children.Add(registered);
                    continue;
                }

                if (array.Slots[i] is not null)
                {
                    _diagnostics.Unsupported(array.Site, "field", node.Type.Name, $"slot {i} of module array '{field.Name}' holds a module that is never registered, so its weights are not in the state_dict; register it with register_module(name, module) or keep the modules in a ModuleList");
                }

                children.Add(new FailedNode(path, array.Site, unassigned: array.Slots[i] is null));
            }

            node.Fields[field] = new ContainerNode(Join(node.Path, field.Name), array.Site, isSequential: false, children) { ContainerKind = "array" };
        }
    }

    /// <summary>Children registered by register_module(name, module), before or after RegisterComponents' fields.</summary>
    private void RegisterExplicit(UserModuleNode node, ConstructorState state, HashSet<string> names, Dictionary<ModuleInstance, ModuleNode> instances, bool afterFields)
    {
        foreach (var (nameOp, scope, module, site, after) in state.ExplicitModules)
        {
            if (after != afterFields)
            {
                continue;
            }

            if (ConstantEvaluator.Evaluate(nameOp, scope).Value is not string { Length: > 0 } name || name.Contains(".") || !names.Add(name))
            {
                _diagnostics.Unsupported(site, "call", node.Type.Name + " constructor", "the name given to register_module must be a constant without '.', used once");
                continue;
            }

            var child = ReadModule(module.Element, Join(node.Path, name), module.Scope, node.Type.Name + " constructor");
            if (child is not null)
            {
                node.Children.Add(child);
                instances[module] = child;
            }
        }
    }

    private static string? ComponentName(IFieldSymbol field)
    {
        foreach (var a in field.GetAttributes())
        {
            if (!TorchSymbols.IsComponentNameAttribute(a.AttributeClass))
            {
                continue;
            }

            foreach (var named in a.NamedArguments)
            {
                if (named.Key == "Name" && named.Value.Value is string s && s.Length > 0)
                {
                    return s;
                }
            }

            if (a.ConstructorArguments.Length > 0 && a.ConstructorArguments[0].Value is string c && c.Length > 0)
            {
                return c;
            }
        }

        return null;
    }

    internal static IOperation? Unwrap(IOperation? operation)
    {
        while (true)
        {
            switch (operation)
            {
                case IConversionOperation c:
                    operation = c.Operand;
                    break;
                case IExpressionStatementOperation s:
                    operation = s.Operation;
                    break;
                default:
                    return operation;
            }
        }
    }

    /// <summary>A module expression: a torch.nn factory call or <c>new</c> of a user module; null for a null literal.</summary>
    private ModuleNode? ReadModule(IOperation value, string path, ConstScope scope, string where, IEnumerable<ListItem>? added = null)
    {
        var op = Unwrap(value)!;
        if (op.ConstantValue is { HasValue: true, Value: null })
        {
            return null;
        }

        switch (op)
        {
            case IInvocationOperation call when TorchSymbols.IsNn(call.TargetMethod.ContainingType):
                return ReadFactory(call, path, scope, where);

            // A module made earlier and held by a local of constructor code.
            case ILocalReferenceOperation or IParameterReferenceOperation when ConstantEvaluator.Evaluate(op, scope).Value is ModuleInstance instance:
                return ReadModule(instance.Element, path, instance.Scope, where, added);

            // block(name, width, planes, stride) on a lambda passed in: its body, parameters bound to the arguments.
            case IInvocationOperation { TargetMethod.MethodKind: MethodKind.DelegateInvoke, Instance: { } target } invoke
                when ConstantEvaluator.Evaluate(target, scope).Value is Closure closure:
            {
                // A lambda handed itself (g => g(g)) would call itself forever: calls nest at most MaxDepth deep.
                if (_closureDepth >= MaxDepth)
                {
                    _diagnostics.Unsupported(op.Syntax, "module initialiser", where, $"module factory lambdas call each other more than {MaxDepth} deep");
                    return new FailedNode(path, op.Syntax, unassigned: false);
                }

                var inner = closure.Scope?.Clone() ?? new ConstScope(_context);
                foreach (var argument in invoke.Arguments)
                {
                    if (argument.Parameter is { } p && p.Ordinal < closure.Lambda.Symbol.Parameters.Length)
                    {
                        var r = ConstantEvaluator.Evaluate(argument.Value, scope);
                        inner.Set(closure.Lambda.Symbol.Parameters[p.Ordinal], r.IsConstant ? ConstBinding.Of(r.Value) : r.FailedBinding ?? ConstBinding.NonConstant());
                    }
                }

                if (closure.Lambda.Body.Operations.Length == 1 && closure.Lambda.Body.Operations[0] is IReturnOperation { ReturnedValue: { } made })
                {
                    _closureDepth++;
                    try
                    {
                        return ReadModule(made, path, inner, where, added);
                    }
                    finally
                    {
                        _closureDepth--;
                    }
                }

                _diagnostics.Unsupported(op.Syntax, "module initialiser", where, "a module factory lambda must return one module expression ('(n, c) => new Block(n, c)')");
                return new FailedNode(path, op.Syntax, unassigned: false);
            }

            case IInvocationOperation { TargetMethod.MethodKind: MethodKind.DelegateInvoke }:
                _diagnostics.Unsupported(op.Syntax, "module initialiser", where, "a module made by a delegate needs the lambda it holds: when a static method passes it to the constructor, name that method with 'factory:' in the schema");
                return new FailedNode(path, op.Syntax, unassigned: false);

            // new ModuleList<Module<Tensor, Tensor>>(a, b): the constructor the factory calls.
            case IObjectCreationOperation { Type: INamedTypeSymbol created } list when IsContainerType(created):
                return ReadContainer(list.Arguments, list.Syntax, path, scope, where, created.Name == "Sequential", added, created.Name);

            // An optional module (dropout > 0 ? Dropout(dropout) : null): the branch the bound arguments choose.
            case IConditionalOperation { WhenFalse: { } whenFalse } choice when ConstantEvaluator.Evaluate(choice.Condition, scope).Value is bool taken:
                return ReadModule(taken ? choice.WhenTrue : whenFalse, path, scope, where);
            case IObjectCreationOperation { Type: INamedTypeSymbol type } creation when TorchSymbols.IsUserModule(type):
            {
                var inner = new ConstScope(_context);
                Bind(creation.Arguments, scope, inner, type.Name);
                return ReadUser(type, path, creation.Syntax, creation.Constructor, inner);
            }

            default:
                _diagnostics.Unsupported(op.Syntax, "module initialiser", where, "a module field must hold a torch.nn factory call (Linear(...), Sequential(...), ...) or 'new' of a module class");
                return new FailedNode(path, op.Syntax, unassigned: false);
        }
    }

    private ModuleNode ReadFactory(IInvocationOperation call, string path, ConstScope scope, string where)
    {
        var name = call.TargetMethod.Name;
        var reader = new FactoryArguments(call, scope, _diagnostics, name);
        LayerSpec? spec = null;
        ModuleNode? node = null;
        switch (name)
        {
            case "Linear":
                spec = new LinearSpec(reader.Long("inputSize"), reader.Long("outputSize"), reader.Bool("hasBias"));
                break;
            case "Embedding":
                spec = new EmbeddingSpec(reader.Long("num_embeddings"), reader.Long("embedding_dims"));
                break;
            case "EmbeddingBag":
            {
                // EmbeddingBagMode: Sum 0, Mean 1, Max 2. A padding index (left out of every bag) and max_norm
                // (weights renormalised at lookup) change what forward computes; the mirror does not follow them.
                var mode = reader.Long("mode") switch { 0 => BagReduction.Sum, 1 => BagReduction.Mean, 2 => BagReduction.Max, _ => null };
                if (mode is null || reader.Long("padding_index") != -1 || reader.Value("max_norm") is not null)
                {
                    _diagnostics.Unsupported(call.Syntax, "layer", where, "torch.nn.EmbeddingBag: mode must be a constant Sum, Mean or Max, without padding_index or max_norm");
                    reader.Failed = true;
                    break;
                }

                spec = new EmbeddingSpec(reader.Long("num_embeddings"), reader.Long("embedding_dims"), new BagReduction(mode, reader.Bool("include_last_offset")));
                break;
            }

            case "Conv1d":
                spec = new Conv1dSpec(
                    reader.Long("in_channels"),
                    reader.Long("out_channels"),
                    reader.Long("kernel_size"),
                    reader.Long("stride"),
                    reader.Long("padding"),
                    reader.Long("dilation"),
                    reader.Long("groups"),
                    reader.Bool("bias"));
                if (reader.Long("padding_mode") != 0)
                {
                    _diagnostics.Approximated(reader.Syntax("padding_mode") ?? call.Syntax, "padding mode", where, "zero padding");
                }

                break;
            case "LSTM":
            case "GRU":
            {
                var layers = reader.Long("numLayers");
                if (layers > int.MaxValue)
                {
                    _diagnostics.Shape(reader.Syntax("numLayers") ?? call.Syntax, new GraphException($"module '{path}' ({name}): num_layers is {layers}; expected at most {int.MaxValue}"));
                    reader.Failed = true;
                }

                spec = new RecurrentSpec(
                    name == "LSTM" ? RecurrentKind.Lstm : RecurrentKind.Gru,
                    reader.Long("inputSize"),
                    reader.Long("hiddenSize"),
                    (int)System.Math.Min(layers, int.MaxValue),
                    reader.Bool("bias"),
                    reader.Bool("batchFirst"),
                    reader.Bool("bidirectional"));
                break;
            }

            case "LayerNorm":
                spec = new LayerNormSpec(reader.Longs("normalized_shape").ToEquatableArray(), reader.Double("eps"), reader.Bool("elementwise_affine"), reader.Bool("bias"));
                break;
            case "BatchNorm1d":
                spec = new BatchNorm1dSpec(reader.Long("num_features"), reader.Double("eps"), reader.Double("momentum"), reader.Bool("affine"), reader.Bool("track_running_stats"));
                break;
            case "GroupNorm":
                spec = new GroupNormSpec(reader.Long("num_groups"), reader.Long("num_channels"), reader.Double("eps"), reader.Bool("affine"));
                break;
            case "BatchNorm2d":
                spec = new BatchNorm2dSpec(reader.Long("num_features"), reader.Double("eps"), reader.Double("momentum"), reader.Bool("affine"), reader.Bool("track_running_stats"));
                break;
            case "Conv2d":
                spec = Conv2d(reader, call, where);
                break;
            case "ConvTranspose1d" or "ConvTranspose2d":
                spec = ConvTranspose(reader, call, where, name == "ConvTranspose1d" ? 1 : 2);
                break;
            case "MaxPool1d" or "MaxPool2d" or "AvgPool1d" or "AvgPool2d":
            {
                var (op, problem) = WindowArguments.Pool(
                    name.StartsWith("Max", System.StringComparison.Ordinal) ? PoolKind.Max : PoolKind.Avg,
                    name.EndsWith("2d", System.StringComparison.Ordinal) ? 2 : 1,
                    reader.Value("kernel_size"),
                    reader.Value("stride"),
                    reader.Value("padding"),
                    reader.Has("dilation") ? reader.Value("dilation") : null,
                    reader.Bool("ceil_mode"),
                    !reader.Has("count_include_pad") || reader.Bool("count_include_pad"),
                    reader.Has("divisor_override") ? reader.Value("divisor_override") : null);
                if (op is null && !reader.Failed)
                {
                    _diagnostics.Unsupported(call.Syntax, "layer", where, $"torch.nn.{name}: {problem}");
                    return new FailedNode(path, call.Syntax, unassigned: false);
                }

                node = new FunctionNode(path, call.Syntax, name, FunctionKind.Op, op: op);
                break;
            }

            case "AdaptiveAvgPool1d" or "AdaptiveAvgPool2d" or "AdaptiveMaxPool1d" or "AdaptiveMaxPool2d":
            {
                var op = WindowArguments.Adaptive(
                    name.Contains("Max") ? PoolKind.Max : PoolKind.Avg,
                    name.EndsWith("2d", System.StringComparison.Ordinal) ? 2 : 1,
                    reader.Value("output_size"));
                if (op is null && !reader.Failed)
                {
                    _diagnostics.Unsupported(call.Syntax, "layer", where, $"torch.nn.{name}: output_size must be a constant");
                    return new FailedNode(path, call.Syntax, unassigned: false);
                }

                node = new FunctionNode(path, call.Syntax, name, FunctionKind.Op, op: op);
                break;
            }

            case "SiLU":
                node = new FunctionNode(path, call.Syntax, name, FunctionKind.Op, op: new ActivationOp(ActivationKind.Silu));
                break;
            case "ELU":
                node = new FunctionNode(path, call.Syntax, name, FunctionKind.Op, op: new ActivationOp(ActivationKind.Elu));
                break;
            case "Softmax" or "LogSoftmax":
                node = new FunctionNode(path, call.Syntax, name, name == "Softmax" ? FunctionKind.Softmax : FunctionKind.LogSoftmax, startDim: reader.Long("dim"));
                break;
            case "ReLU":
                InPlace(reader, call, where);
                node = new FunctionNode(path, call.Syntax, name, FunctionKind.Relu);
                break;
            case "Tanh":
                node = new FunctionNode(path, call.Syntax, name, FunctionKind.Tanh);
                break;
            case "Sigmoid":
                node = new FunctionNode(path, call.Syntax, name, FunctionKind.Sigmoid);
                break;
            case "GELU":
                node = new FunctionNode(path, call.Syntax, name, FunctionKind.Gelu);
                break;
            case "Identity":
                node = new FunctionNode(path, call.Syntax, name, FunctionKind.Identity);
                break;
            case "Dropout":
                InPlace(reader, call, where);
                node = new FunctionNode(path, call.Syntax, name, FunctionKind.Dropout, p: reader.Double("p"));
                break;
            case "Flatten":
                node = new FunctionNode(path, call.Syntax, name, FunctionKind.Flatten, startDim: reader.Long("start_dim"), endDim: reader.Long("end_dim"));
                break;
            case "MultiheadAttention":
                node = Attention(reader, call, path, where);
                break;
            case "TransformerEncoderLayer":
            {
                var attention = Attention(reader, call, Join(path, "self_attn"), where, "d_model", "nhead");
                var d = reader.Long("d_model");
                var hidden = reader.Long("dim_feedforward");
                var activation = reader.Long("activation");
                if (reader.Failed || attention is null)
                {
                    break;
                }

                if (activation is not (0 or 1))
                {
                    _diagnostics.Unsupported(reader.Syntax("activation") ?? call.Syntax, "layer", where, "torch.nn.TransformerEncoderLayer: activation must be a constant ReLU or GELU");
                    return new FailedNode(path, call.Syntax, unassigned: false);
                }

                if (Part(Join(path, "linear1"), call, new LinearSpec(d, hidden)) is not { } linear1
                    || Part(Join(path, "linear2"), call, new LinearSpec(hidden, d)) is not { } linear2
                    || Part(Join(path, "norm1"), call, new LayerNormSpec(new[] { d }.ToEquatableArray(), 1e-5, true, true)) is not { } norm1
                    || Part(Join(path, "norm2"), call, new LayerNormSpec(new[] { d }.ToEquatableArray(), 1e-5, true, true)) is not { } norm2)
                {
                    return new FailedNode(path, call.Syntax, unassigned: false);
                }

                node = new EncoderLayerNode(path, call.Syntax, attention, linear1, linear2, norm1, norm2, activation == 0 ? ActivationKind.Relu : ActivationKind.Gelu, reader.Double("dropout"));
                break;
            }

            case "TransformerEncoder":
            {
                var count = reader.Long("num_layers");
                var layerArgument = call.Arguments.FirstOrDefault(a => a.Parameter?.Name == "encoder_layer");
                if (reader.Failed || layerArgument is null)
                {
                    break;
                }

                if (count < 1 || count > MaxEncoderLayers)
                {
                    _diagnostics.Unsupported(reader.Syntax("num_layers") ?? call.Syntax, "layer", where, $"torch.nn.TransformerEncoder: num_layers is {count}; expected 1 to {MaxEncoderLayers}");
                    return new FailedNode(path, call.Syntax, unassigned: false);
                }

                // TorchSharp clones the layer num_layers times (layers.0, layers.1, ...): each copy is read at its path.
                var layers = new List<EncoderLayerNode>();
                for (var i = 0; i < count; i++)
                {
                    switch (ReadModule(layerArgument.Value, Join(path, "layers." + i.ToString(System.Globalization.CultureInfo.InvariantCulture)), scope, where))
                    {
                        case EncoderLayerNode layer:
                            layers.Add(layer);
                            break;
                        case FailedNode failed:
                            return failed;
                        default:
                            _diagnostics.Unsupported(layerArgument.Value.Syntax, "layer", where, "torch.nn.TransformerEncoder: the encoder layer must be a TransformerEncoderLayer(...) call or a local holding one");
                            return new FailedNode(path, call.Syntax, unassigned: false);
                    }
                }

                node = new EncoderNode(path, call.Syntax, layers);
                break;
            }

            case "Sequential":
            case "ModuleList":
                node = ReadContainer(call.Arguments, call.Syntax, path, scope, where, name == "Sequential", kind: name);
                break;
            default:
                _diagnostics.Unsupported(call.Syntax, "layer", where, $"the mirror has no rule for torch.nn.{name}");
                return new FailedNode(path, call.Syntax, unassigned: false);
        }

        if (reader.Failed)
        {
            return new FailedNode(path, call.Syntax, unassigned: false);
        }

        if (node is not null)
        {
            return node;
        }

        return Layer(path, call, spec!, name, reader.Explicit) ?? (ModuleNode)new FailedNode(path, call.Syntax, unassigned: false);
    }

    /// <summary>The reader unrolls a TransformerEncoder's copies; more than this is not a model anyone trains.</summary>
    private const long MaxEncoderLayers = 1024;

    /// <summary>
    /// MultiheadAttention(embedded_dim, num_heads, dropout, bias, ...) or a TransformerEncoderLayer's self_attn: the
    /// packed projection at <paramref name="path"/> and out_proj under it. Extra key/value biases, a zero attention
    /// row and kdim/vdim other than embed_dim change the parameters or the computation; the mirror reads neither.
    /// </summary>
    private AttentionNode? Attention(FactoryArguments reader, IInvocationOperation call, string path, string where, string dimName = "embedded_dim", string headsName = "num_heads")
    {
        var e = reader.Long(dimName);
        var heads = reader.Long(headsName);
        var dropout = reader.Double("dropout");
        var own = dimName == "embedded_dim";
        var bias = !own || reader.Bool("bias");
        if (reader.Failed)
        {
            return null;
        }

        if (own && (reader.Bool("add_bias_kv") || reader.Bool("add_zero_attn") || (reader.Value("kdim") is { } k && !Equals(k, e)) || (reader.Value("vdim") is { } v && !Equals(v, e))))
        {
            _diagnostics.Unsupported(call.Syntax, "layer", where, "torch.nn.MultiheadAttention: add_bias_kv, add_zero_attn and a kdim or vdim other than embed_dim are not followed; the mirror reads the packed in_proj_weight of self- and cross-attention with equal widths");
            reader.Failed = true;
            return null;
        }

        if (Part(path, call, new AttentionProjectionSpec(e, heads, bias)) is not { } projection
            || Part(Join(path, "out_proj"), call, new LinearSpec(e, e, bias)) is not { } outProjection)
        {
            reader.Failed = true;
            return null;
        }

        return new AttentionNode(path, call.Syntax, projection, outProjection, dropout);
    }

    /// <summary>A layer inside a composite module (a MultiheadAttention's projections, an encoder layer's Linears).</summary>
    private LayerNode? Part(string path, IInvocationOperation call, LayerSpec spec) =>
        Layer(path, call, spec, spec.Kind, new Dictionary<string, SyntaxNode>());

    /// <summary>
    /// A layer validated the way the IR validates it (sizes >= 1, groups divide channels, heads divide the width),
    /// reported at the factory call; null when invalid.
    /// </summary>
    private LayerNode? Layer(string path, IInvocationOperation call, LayerSpec spec, string factory, IReadOnlyDictionary<string, SyntaxNode> arguments)
    {
        try
        {
            ModelGraph.Create("M", [], [new GraphModule(path, spec)], [], []);
        }
        catch (GraphException e)
        {
            _diagnostics.Shape(call.Syntax, e);
            return null;
        }

        return new LayerNode(path, call.Syntax, factory, spec, arguments);
    }

    /// <summary>
    /// NS1002 for <c>inplace: true</c>: the output aliases the input, so a later read of the input sees the result.
    /// The graph reads it unchanged; for an activation or dropout the feature sets are the same either way.
    /// </summary>
    private void InPlace(FactoryArguments reader, IInvocationOperation call, string where)
    {
        if (reader.Bool("inplace"))
        {
            _diagnostics.Approximated(reader.Syntax("inplace") ?? call.Syntax, "option", where, InPlaceFallback);
        }
    }

    internal const string InPlaceFallback = "an out-of-place operation (later reads of its input see the input unchanged; an activation or dropout keeps feature sets either way)";

    private ModuleNode ReadContainer(ImmutableArray<IArgumentOperation> arguments, SyntaxNode site, string path, ConstScope scope, string where, bool sequential, IEnumerable<ListItem>? extra = null, string kind = "ModuleList")
    {
        var elements = new List<ListItem>();
        foreach (var arg in arguments)
        {
            if (ListElements(arg.Value, scope, out var problem) is not { } items)
            {
                _diagnostics.Unsupported(
                    arg.Syntax,
                    "argument",
                    where,
                    $"the children of {(sequential ? "Sequential" : "ModuleList")} must be listed in the call or built in the constructor with constant bounds"
                        + (problem is null ? string.Empty : ": " + problem));
                return new FailedNode(path, site, unassigned: false);
            }

            elements.AddRange(items);
        }

        // Modules added after creation (parts.Add("lin1", Linear(...))) follow the ones the constructor was given.
        elements.AddRange(extra ?? []);

        var children = new List<ModuleNode>();
        var names = new HashSet<string>(System.StringComparer.Ordinal);
        var failed = false;
        for (var i = 0; i < elements.Count; i++)
        {
            var element = Unwrap(elements[i].Element)!;
            var elementScope = elements[i].Scope;
            var name = i.ToString(CultureInfo.InvariantCulture);
            var module = element;
            if (elements[i].Key is { } dictKey)
            {
                if (ConstantEvaluator.Evaluate(dictKey, elementScope).Value is not string { Length: > 0 } keyName)
                {
                    _diagnostics.NonConstant(dictKey.Syntax, "key", "ModuleDict.Add");
                    failed = true;
                    continue;
                }

                name = keyName;
            }
            else if (element is ITupleOperation { Elements.Length: 2 } tuple)
            {
                var key = ConstantEvaluator.Evaluate(tuple.Elements[0], elementScope);
                if (!key.IsConstant || key.Value is not string s || s.Length == 0)
                {
                    _diagnostics.NonConstant(tuple.Elements[0].Syntax, "name", "Sequential");
                    failed = true;
                    continue;
                }

                name = s;
                module = tuple.Elements[1];
            }

            if (!names.Add(name))
            {
                _diagnostics.Unsupported(element.Syntax, "module", where, $"child name '{name}' is used twice in this {(sequential ? "Sequential" : "ModuleList")} (TorchSharp rejects it)");
                failed = true;
                continue;
            }

            var child = ReadModule(module, Join(path, name), elementScope, where);
            if (child is null)
            {
                _diagnostics.Unsupported(module.Syntax, "module", where, "a container child cannot be null");
                failed = true;
                continue;
            }

            failed |= child is FailedNode;
            children.Add(child);
        }

        return failed ? new FailedNode(path, site, unassigned: false) : new ContainerNode(path, site, sequential, children) { ContainerKind = kind };
    }

    /// <summary>
    /// Conv2d in TorchSharp's four overloads: sizes as numbers or (h, w) tuples (null stride or dilation is 1), and
    /// padding as numbers, tuples or the Padding enum (Valid is 0; Same keeps the size at stride 1).
    /// </summary>
    /// <summary>ConvTranspose1d/2d: numbers (or (h, w) tuples for 2-D); zero padding only.</summary>
    private LayerSpec? ConvTranspose(FactoryArguments reader, IInvocationOperation call, string where, int dims)
    {
        var kernel = WindowArguments.PerAxis(reader.Value("kernel_size"), dims, null);
        var stride = WindowArguments.PerAxis(reader.Value("stride"), dims, Enumerable.Repeat(1L, dims).ToArray());
        var padding = WindowArguments.PerAxis(reader.Value("padding"), dims, new long[dims]);
        var outputPadding = WindowArguments.PerAxis(reader.Value("output_padding"), dims, new long[dims]);
        var dilation = WindowArguments.PerAxis(reader.Value("dilation"), dims, Enumerable.Repeat(1L, dims).ToArray());
        if (reader.Failed)
        {
            return null;
        }

        if (kernel is null || stride is null || padding is null || outputPadding is null || dilation is null)
        {
            _diagnostics.Unsupported(call.Syntax, "layer", where, $"torch.nn.ConvTranspose{dims}d: kernel_size, stride, padding, output_padding and dilation must be constants with {(dims == 1 ? "one value" : "one or two values")}");
            reader.Failed = true;
            return null;
        }

        if (reader.Long("padding_mode") != 0)
        {
            _diagnostics.Unsupported(reader.Syntax("padding_mode") ?? call.Syntax, "layer", where, $"torch.nn.ConvTranspose{dims}d: only zero padding exists for transposed convolutions (PyTorch refuses the others)");
            reader.Failed = true;
            return null;
        }

        long inChannels = reader.Long("in_channels"), outChannels = reader.Long("out_channels"), groups = reader.Long("groups");
        return dims == 1
            ? ConvTransposeSpec.OneD(inChannels, outChannels, kernel[0], stride[0], padding[0], outputPadding[0], dilation[0], groups, reader.Bool("bias"))
            : new ConvTransposeSpec(2, inChannels, outChannels, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1], outputPadding[0], outputPadding[1], dilation[0], dilation[1], groups, reader.Bool("bias"));
    }

    private LayerSpec? Conv2d(FactoryArguments reader, IInvocationOperation call, string where)
    {
        var kernel = WindowArguments.PerAxis(reader.Value("kernel_size"), 2, null);
        var stride = WindowArguments.PerAxis(reader.Value("stride"), 2, [1, 1]);
        var dilation = WindowArguments.PerAxis(reader.Value("dilation"), 2, [1, 1]);
        long[]? padding;
        var paddingValue = reader.Value("padding");
        if (reader.TypeName("padding") == "Padding")
        {
            // Same: PyTorch pads d·(k−1)/2 on each side, which keeps the size only at stride 1 with d·(k−1) even.
            padding = paddingValue is 0L ? [0, 0]
                : kernel is null || dilation is null || stride is null || stride[0] != 1 || stride[1] != 1 || (dilation[0] * (kernel[0] - 1)) % 2 != 0 || (dilation[1] * (kernel[1] - 1)) % 2 != 0 ? null
                : [dilation[0] * (kernel[0] - 1) / 2, dilation[1] * (kernel[1] - 1) / 2];
        }
        else
        {
            padding = WindowArguments.PerAxis(paddingValue, 2, [0, 0]);
        }

        if (reader.Failed)
        {
            return null;
        }

        if (kernel is null || stride is null || dilation is null || padding is null)
        {
            _diagnostics.Unsupported(call.Syntax, "layer", where, "torch.nn.Conv2d: kernel_size, stride, padding and dilation must be constants with one or two values (padding: Padding.Same only at stride 1 with an odd kernel)");
            reader.Failed = true;
            return null;
        }

        if (reader.Long("padding_mode") != 0)
        {
            _diagnostics.Approximated(reader.Syntax("padding_mode") ?? call.Syntax, "padding mode", where, "zero padding");
        }

        return new Conv2dSpec(
            reader.Long("in_channels"),
            reader.Long("out_channels"),
            kernel[0],
            kernel[1],
            stride[0],
            stride[1],
            padding[0],
            padding[1],
            dilation[0],
            dilation[1],
            reader.Long("groups"),
            reader.Bool("bias"));
    }

    /// <summary>Arguments of a torch.nn factory by TorchSharp parameter name, with defaults, as constants.</summary>
    private sealed class FactoryArguments
    {
        private readonly Dictionary<string, IArgumentOperation> _args = new(System.StringComparer.Ordinal);
        private readonly ConstScope _scope;
        private readonly DiagnosticBag _diagnostics;
        private readonly string _callee;
        private readonly SyntaxNode _call;

        public FactoryArguments(IInvocationOperation call, ConstScope scope, DiagnosticBag diagnostics, string callee)
        {
            foreach (var a in call.Arguments)
            {
                if (a.Parameter is not null)
                {
                    _args[a.Parameter.Name] = a;
                }
            }

            _scope = scope;
            _diagnostics = diagnostics;
            _callee = callee;
            _call = call.Syntax;
        }

        public bool Failed { get; set; }

        public IReadOnlyDictionary<string, SyntaxNode> Explicit =>
            _args.Where(kv => kv.Value.ArgumentKind != ArgumentKind.DefaultValue).ToDictionary(kv => kv.Key, kv => kv.Value.Value.Syntax, System.StringComparer.Ordinal);

        public SyntaxNode? Syntax(string name) =>
            _args.TryGetValue(name, out var a) && a.ArgumentKind != ArgumentKind.DefaultValue ? a.Value.Syntax : null;

        public long Long(string name) => Get(name) is { } v && ConstantEvaluator.TryLong(v, out var l) ? l : 0;

        public double Double(string name) => Get(name) is { } v && ConstantEvaluator.TryDouble(v, out var d) ? d : 0;

        public bool Bool(string name) => Get(name) is true;

        public long[] Longs(string name) => Get(name) switch
        {
            long l => [l],
            long[] a => a,
            _ => [],
        };

        /// <summary>The constant value of an argument (a number, a tuple as long[], null), or null after reporting why not.</summary>
        public object? Value(string name) => Get(name);

        /// <summary>Whether the method has a parameter of that name (overloads differ: ceil_mode, dilation).</summary>
        public bool Has(string name) => _args.ContainsKey(name);

        /// <summary>The declared type name of a parameter (TorchSharp's Padding enum vs a number).</summary>
        public string? TypeName(string name) => _args.TryGetValue(name, out var a) ? a.Parameter?.Type.Name : null;

        private object? Get(string name)
        {
            if (!_args.TryGetValue(name, out var arg))
            {
                Failed = true;
                _diagnostics.Unsupported(_call, "call", _callee, $"the reader expects a parameter named '{name}' (TorchSharp's signature)");
                return null;
            }

            var r = ConstantEvaluator.Evaluate(arg.Value, _scope);
            if (r.IsConstant)
            {
                return r.Value;
            }

            Failed = true;
            _diagnostics.NonConstant(arg.Value.Syntax, name, _callee, r.FailedBinding);
            return null;
        }
    }
}

/// <summary>One semantic model per syntax tree, created on first use.</summary>
internal sealed class SemanticModels
{
    private readonly Compilation _compilation;
    private readonly Dictionary<SyntaxTree, SemanticModel> _models = [];

    public SemanticModels(Compilation compilation) => _compilation = compilation;

    public Compilation Compilation => _compilation;

    public SemanticModel Get(SyntaxTree tree)
    {
        if (!_models.TryGetValue(tree, out var model))
        {
            model = _compilation.GetSemanticModel(tree);
            _models.Add(tree, model);
        }

        return model;
    }
}
