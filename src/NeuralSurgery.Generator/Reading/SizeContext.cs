using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// What sizes may come from besides literals and constructor arguments, for one reading of a model: static fields
/// and properties with constant initialisers that nothing else assigns, getters that compute a value, config objects
/// (constructed inline, <c>new Config { X = 3 }</c>, or bound from the schema's <c>arguments:</c> block), and the
/// conversion of schema argument values to the C# parameter and member types (NS1017, NS1018).
/// </summary>
internal sealed class SizeContext
{
    /// <summary>Config objects nested (or constructed from one another's initialisers) deeper than this are not read.</summary>
    private const int MaxConfigDepth = 16;

    private readonly SemanticModels _models;
    private readonly DiagnosticBag _diagnostics;
    private readonly CancellationToken _ct;
    private readonly Dictionary<ISymbol, ConstBinding> _statics = new(SymbolEqualityComparer.Default);
    private readonly HashSet<ISymbol> _inProgress = new(SymbolEqualityComparer.Default);
    private int _configDepth;

    public SizeContext(SemanticModels models, DiagnosticBag diagnostics, string schemaName, CancellationToken ct)
    {
        _models = models;
        _diagnostics = diagnostics;
        SchemaName = schemaName;
        _ct = ct;
    }

    /// <summary>The schema file, or "the feature schema (none was given)", for messages.</summary>
    public string SchemaName { get; }

    /// <summary>A class, record or struct declared in source that is neither a module nor a tensor: a config object type.</summary>
    public static bool IsConfigType(ITypeSymbol? type) =>
        type is INamedTypeSymbol { TypeKind: TypeKind.Class or TypeKind.Struct, SpecialType: SpecialType.None, IsStatic: false } named
        && named.DeclaringSyntaxReferences.Length > 0
        && !TorchSymbols.IsModule(named)
        && !TorchSymbols.IsTensor(named);

    // ---- static fields and properties -------------------------------------------------------------------------

    /// <summary>
    /// A static field or property: its initialiser's (or expression-bodied getter's) constant value, unless it is
    /// assigned anywhere besides its initialiser (then the reason names where).
    /// </summary>
    public ConstBinding StaticMember(ISymbol member)
    {
        if (_statics.TryGetValue(member, out var cached))
        {
            return cached;
        }

        if (member.DeclaringSyntaxReferences.Length == 0 || !_inProgress.Add(member))
        {
            return ConstBinding.NonConstant();
        }

        try
        {
            var binding = ReadStatic(member);
            _statics[member] = binding;
            return binding;
        }
        finally
        {
            _inProgress.Remove(member);
        }
    }

    private ConstBinding ReadStatic(ISymbol member)
    {
        var kind = member is IFieldSymbol ? "field" : "property";
        var name = member.ContainingType.Name + "." + member.Name;
        if (FirstWrite(member) is { } write)
        {
            var line = write.GetLineSpan();
            return ConstBinding.NonConstant(reason: string.Format(
                CultureInfo.InvariantCulture,
                "static {0} '{1}' is assigned outside its initialiser ({2}, line {3}), so its value when the model is built is unknown: make it const or readonly, or assign it only in its initialiser",
                kind,
                name,
                System.IO.Path.GetFileName(line.Path),
                line.StartLinePosition.Line + 1));
        }

        var value = member switch
        {
            IFieldSymbol field => FieldInitializer(field),
            IPropertySymbol property when IsAutoProperty(property) => PropertyInitializer(property),
            IPropertySymbol property => GetterExpression(property),
            _ => null,
        };
        if (value is null)
        {
            return ConstBinding.NonConstant(reason: $"static {kind} '{name}' has no initialiser; sizes and layer options must be literals, const fields or locals, or arithmetic of them");
        }

        return Bound(ConstantEvaluator.Evaluate(value, new ConstScope(this)), MemberType(member));
    }

    /// <summary>
    /// Where <paramref name="member"/> is written (assigned, incremented, passed by ref or out) other than by its
    /// initialiser, or null. A private member is looked for in its type's declarations, any other in every tree.
    /// </summary>
    private Location? FirstWrite(ISymbol member)
    {
        var roots = member.DeclaredAccessibility == Accessibility.Private
            ? member.ContainingType.DeclaringSyntaxReferences.Select(r => r.GetSyntax(_ct))
            : _models.Compilation.SyntaxTrees.Select(t => t.GetRoot(_ct));
        foreach (var root in roots)
        {
            foreach (var id in root.DescendantNodes().OfType<IdentifierNameSyntax>())
            {
                _ct.ThrowIfCancellationRequested();
                if (id.Identifier.ValueText == member.Name
                    && IsWritten(id)
                    && SymbolEqualityComparer.Default.Equals(_models.Get(id.SyntaxTree).GetSymbolInfo(id, _ct).Symbol?.OriginalDefinition, member))
                {
                    return id.GetLocation();
                }
            }
        }

        return null;
    }

    private static bool IsWritten(IdentifierNameSyntax id)
    {
        ExpressionSyntax expression = id;
        if (id.Parent is MemberAccessExpressionSyntax access && access.Name == id)
        {
            expression = access;
        }

        return expression.Parent switch
        {
            AssignmentExpressionSyntax assignment => assignment.Left == expression,
            PrefixUnaryExpressionSyntax unary => unary.IsKind(SyntaxKind.PreIncrementExpression) || unary.IsKind(SyntaxKind.PreDecrementExpression),
            PostfixUnaryExpressionSyntax unary => unary.IsKind(SyntaxKind.PostIncrementExpression) || unary.IsKind(SyntaxKind.PostDecrementExpression),
            ArgumentSyntax argument => !argument.RefKindKeyword.IsKind(SyntaxKind.None) && !argument.RefKindKeyword.IsKind(SyntaxKind.InKeyword)
                || argument.Parent is TupleExpressionSyntax { Parent: AssignmentExpressionSyntax } tuple && ((AssignmentExpressionSyntax)tuple.Parent!).Left == tuple,
            RefExpressionSyntax => true,
            _ => false,
        };
    }

    // ---- getters and initialisers -----------------------------------------------------------------------------

    /// <summary>
    /// The value of an instance property computed by its getter (<c>int HeadSize => NEmbd / NHead;</c>), evaluated
    /// in <paramref name="scope"/> (the object's members); null for an auto-property, whose value is stored.
    /// </summary>
    public ConstBinding? Getter(IPropertySymbol property, ConstScope scope)
    {
        if (IsAutoProperty(property))
        {
            return null;
        }

        if (!_inProgress.Add(property))
        {
            return ConstBinding.NonConstant();
        }

        try
        {
            return GetterExpression(property) is { } value ? Bound(ConstantEvaluator.Evaluate(value, scope), property.Type) : ConstBinding.NonConstant();
        }
        finally
        {
            _inProgress.Remove(property);
        }
    }

    private static bool IsAutoProperty(IPropertySymbol property) =>
        property.ContainingType.GetMembers().OfType<IFieldSymbol>().Any(f => SymbolEqualityComparer.Default.Equals(f.AssociatedSymbol, property));

    private IOperation? FieldInitializer(IFieldSymbol field) =>
        field.DeclaringSyntaxReferences.Length > 0
        && field.DeclaringSyntaxReferences[0].GetSyntax(_ct) is VariableDeclaratorSyntax { Initializer: { } init }
        && _models.Get(init.SyntaxTree).GetOperation(init, _ct) is IFieldInitializerOperation op
            ? op.Value
            : null;

    private IOperation? PropertyInitializer(IPropertySymbol property) =>
        property.DeclaringSyntaxReferences.Length > 0
        && property.DeclaringSyntaxReferences[0].GetSyntax(_ct) is PropertyDeclarationSyntax { Initializer: { } init }
        && _models.Get(init.SyntaxTree).GetOperation(init, _ct) is IPropertyInitializerOperation op
            ? op.Value
            : null;

    /// <summary><c>=> e</c>, <c>get => e;</c> or <c>get { return e; }</c>.</summary>
    private IOperation? GetterExpression(IPropertySymbol property)
    {
        if (property.DeclaringSyntaxReferences.Length == 0 || property.DeclaringSyntaxReferences[0].GetSyntax(_ct) is not PropertyDeclarationSyntax syntax)
        {
            return null;
        }

        var expression = syntax.ExpressionBody?.Expression;
        if (expression is null && syntax.AccessorList?.Accessors.FirstOrDefault(a => a.IsKind(SyntaxKind.GetAccessorDeclaration)) is { } get)
        {
            expression = get.ExpressionBody?.Expression
                ?? (get.Body is { Statements.Count: 1 } body && body.Statements[0] is ReturnStatementSyntax { Expression: { } returned } ? returned : null);
        }

        return expression is null ? null : _models.Get(expression.SyntaxTree).GetOperation(expression, _ct);
    }

    private static ITypeSymbol? MemberType(ISymbol member) => member switch
    {
        IFieldSymbol f => f.Type,
        IPropertySymbol p => p.Type,
        IParameterSymbol p => p.Type,
        _ => null,
    };

    private static ConstBinding Bound(ConstResult r, ITypeSymbol? type) =>
        r.IsConstant ? ConstBinding.Of(ConstantEvaluator.Convert(r.Value, type)) : r.FailedBinding ?? ConstBinding.NonConstant();

    // ---- config objects -----------------------------------------------------------------------------------------

    /// <summary><c>new Config(...)</c> or <c>new Config { X = ... }</c> with constant arguments, evaluated in <paramref name="scope"/>.</summary>
    public ConstBinding Construct(IObjectCreationOperation creation, ConstScope scope)
    {
        var type = (INamedTypeSymbol)creation.Type!;
        var arguments = new Dictionary<IParameterSymbol, ConstBinding>(SymbolEqualityComparer.Default);
        foreach (var argument in creation.Arguments)
        {
            if (argument.Parameter is not null)
            {
                arguments[argument.Parameter] = Bound(ConstantEvaluator.Evaluate(argument.Value, scope), argument.Parameter.Type);
            }
        }

        var assigned = new List<(ISymbol Member, ConstBinding Value)>();
        foreach (var initializer in creation.Initializer?.Initializers ?? [])
        {
            if (initializer is ISimpleAssignmentOperation { Target: IMemberReferenceOperation { Instance: IInstanceReferenceOperation } target } assignment)
            {
                assigned.Add((target.Member, Bound(ConstantEvaluator.Evaluate(assignment.Value, scope), MemberType(target.Member))));
            }
            else if (initializer is IMemberInitializerOperation { InitializedMember: IMemberReferenceOperation nested })
            {
                assigned.Add((nested.Member, ConstBinding.NonConstant()));
            }
        }

        return Build(type, creation.Constructor, arguments, assigned, origin: null);
    }

    /// <summary>
    /// Runs the constructor of a config type over <see cref="ConstScope"/> bindings: its parameters, field and
    /// property initialisers (base types first), <c>this(...)</c> chains and top-level member assignments of its
    /// body; then <paramref name="assigned"/> (an object initialiser, or values from the schema).
    /// </summary>
    private ConstBinding Build(
        INamedTypeSymbol type,
        IMethodSymbol? ctor,
        Dictionary<IParameterSymbol, ConstBinding> arguments,
        List<(ISymbol Member, ConstBinding Value)> assigned,
        UnboundOrigin? origin)
    {
        if (_configDepth >= MaxConfigDepth)
        {
            return ConstBinding.NonConstant();
        }

        _configDepth++;
        try
        {
            var members = new ConstScope(this);
            RunConstructor(type, ctor, arguments, members, origin);
            foreach (var (member, value) in assigned)
            {
                members.Set(member, value);
            }

            return ConstBinding.Of(new ConfigObject(type, members, origin, this));
        }
        finally
        {
            _configDepth--;
        }
    }

    private void RunConstructor(INamedTypeSymbol type, IMethodSymbol? ctor, Dictionary<IParameterSymbol, ConstBinding> arguments, ConstScope members, UnboundOrigin? origin)
    {
        _ct.ThrowIfCancellationRequested();
        foreach (var p in ctor?.Parameters ?? [])
        {
            members.Set(
                p,
                arguments.TryGetValue(p, out var given) ? given
                : p.HasExplicitDefaultValue ? ConstBinding.Of(ConstantEvaluator.Convert(ConstantEvaluator.Normalize(p.ExplicitDefaultValue), p.Type))
                : origin is not null ? ConstBinding.Unbound(origin.Member(p.Name))
                : ConstBinding.NonConstant());
        }

        var syntax = ctor is not null && ctor.DeclaringSyntaxReferences.Length > 0 ? ctor.DeclaringSyntaxReferences[0].GetSyntax(_ct) : null;
        if (syntax is ConstructorDeclarationSyntax declaration && _models.Get(declaration.SyntaxTree).GetOperation(declaration, _ct) is IConstructorBodyOperation body)
        {
            if (ModuleTreeReader.Unwrap(body.Initializer) is IInvocationOperation chained && SymbolEqualityComparer.Default.Equals(chained.TargetMethod.ContainingType, type))
            {
                var next = new Dictionary<IParameterSymbol, ConstBinding>(SymbolEqualityComparer.Default);
                foreach (var argument in chained.Arguments)
                {
                    if (argument.Parameter is not null)
                    {
                        next[argument.Parameter] = Bound(ConstantEvaluator.Evaluate(argument.Value, members), argument.Parameter.Type);
                    }
                }

                RunConstructor(type, chained.TargetMethod, next, members, origin);
            }
            else
            {
                RunInitializers(type, members);
            }

            foreach (var statement in body.BlockBody?.Operations ?? (body.ExpressionBody is { } e ? [e] : []))
            {
                RunStatement(statement, members);
            }

            return;
        }

        RunInitializers(type, members);
        if (syntax is RecordDeclarationSyntax && ctor is not null)
        {
            // A positional record's properties are its primary constructor's parameters, unless declared otherwise.
            foreach (var p in ctor.Parameters)
            {
                if (type.GetMembers(p.Name).OfType<IPropertySymbol>().FirstOrDefault() is { } property && members.Get(property) is null && IsAutoProperty(property))
                {
                    members.Set(property, members.Get(p)!);
                }
            }
        }
    }

    private void RunInitializers(INamedTypeSymbol type, ConstScope members)
    {
        if (type.BaseType is { } baseType && IsConfigType(baseType))
        {
            RunInitializers(baseType, members);
        }

        foreach (var member in type.GetMembers())
        {
            var value = member switch
            {
                IFieldSymbol { IsStatic: false, IsImplicitlyDeclared: false } f => FieldInitializer(f),
                IPropertySymbol { IsStatic: false } p => PropertyInitializer(p),
                _ => null,
            };
            if (value is not null)
            {
                members.Set(member, Bound(ConstantEvaluator.Evaluate(value, members), MemberType(member)));
            }
        }
    }

    /// <summary><c>X = e;</c> / <c>this.X = e;</c> at the top level; a member assigned anywhere else becomes unknown.</summary>
    private static void RunStatement(IOperation statement, ConstScope members)
    {
        if (statement is IExpressionStatementOperation { Operation: ISimpleAssignmentOperation { Target: IMemberReferenceOperation { Instance: IInstanceReferenceOperation } target } assignment })
        {
            members.Set(target.Member, Bound(ConstantEvaluator.Evaluate(assignment.Value, members), MemberType(target.Member)));
            return;
        }

        foreach (var d in statement.DescendantsAndSelf())
        {
            if (d is IAssignmentOperation { Target: IMemberReferenceOperation { Instance: IInstanceReferenceOperation } written })
            {
                members.Set(written.Member, ConstBinding.NonConstant());
            }
        }
    }

    // ---- schema arguments ---------------------------------------------------------------------------------------

    /// <summary>
    /// The binding a schema value gives a parameter or member of type <paramref name="type"/>; NS1018 (and a binding
    /// whose uses stay silent) when the value does not fit the type.
    /// </summary>
    /// <param name="value">The value in the schema.</param>
    /// <param name="type">The C# type of the parameter or member it binds.</param>
    /// <param name="path">The argument as the messages name it: <c>hidden</c>, <c>config.n_embd</c>.</param>
    /// <param name="subject">What it binds: <c>parameter 'hidden' of the Net constructor</c>, <c>member 'n_embd' of 'GptConfig'</c>.</param>
    /// <param name="origin">The model parameter (and members) it sits under, for members a config mapping leaves out.</param>
    public ConstBinding FromSchema(SchemaValue value, ITypeSymbol type, string path, string subject, UnboundOrigin origin)
    {
        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable)
        {
            type = nullable.TypeArguments[0];
        }

        string expected;
        switch (type.SpecialType)
        {
            case SpecialType.System_SByte:
            case SpecialType.System_Byte:
            case SpecialType.System_Int16:
            case SpecialType.System_UInt16:
            case SpecialType.System_Int32:
            case SpecialType.System_UInt32:
            case SpecialType.System_Int64:
            case SpecialType.System_UInt64:
            {
                var (min, max) = Range(type.SpecialType);
                if (value.Kind == SchemaValueKind.Integer && value.Integer >= min && value.Integer <= max)
                {
                    return ConstBinding.Of(value.Integer);
                }

                expected = string.Format(CultureInfo.InvariantCulture, "an unquoted integer from {0} to {1}", min, max);
                break;
            }

            case SpecialType.System_Single:
            case SpecialType.System_Double:
            case SpecialType.System_Decimal:
                if (value.Kind is SchemaValueKind.Integer or SchemaValueKind.Float)
                {
                    return ConstBinding.Of(value.Float);
                }

                expected = "an unquoted number";
                break;
            case SpecialType.System_Boolean:
                if (value.Kind == SchemaValueKind.Bool)
                {
                    return ConstBinding.Of(value.Bool);
                }

                expected = "true or false";
                break;
            case SpecialType.System_String:
                if (value.Kind is not (SchemaValueKind.Integers or SchemaValueKind.Mapping))
                {
                    return ConstBinding.Of(value.Text);
                }

                expected = "a string";
                break;
            default:
                if (type.TypeKind == TypeKind.Enum)
                {
                    var names = type.GetMembers().OfType<IFieldSymbol>().Where(f => f.HasConstantValue).ToList();
                    if (value.Kind == SchemaValueKind.String && names.FirstOrDefault(f => f.Name == value.Text) is { } member)
                    {
                        return ConstBinding.Of(ConstantEvaluator.Normalize(member.ConstantValue));
                    }

                    expected = "one of: " + string.Join(", ", names.Select(f => f.Name));
                }
                else if (IntegerElement(type))
                {
                    if (value.Kind == SchemaValueKind.Integers)
                    {
                        return ConstBinding.Of(value.Integers.ToArray());
                    }

                    expected = "a list of unquoted integers";
                }
                else if (IsConfigType(type))
                {
                    if (value.Kind == SchemaValueKind.Mapping)
                    {
                        return FromSchemaMapping(value, (INamedTypeSymbol)type, path, origin);
                    }

                    expected = $"a mapping of the members of '{type.Name}' to values";
                }
                else
                {
                    expected = "a type the schema can give (integers, numbers, booleans, strings, enums, integer lists, or a config class, record or struct of the model's source)";
                }

                break;
        }

        Report(
            ModelDiagnostics.SchemaArgumentWrongType,
            value.Location,
            path,
            SchemaName,
            value.Describe(),
            subject,
            type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat),
            expected);
        return ConstBinding.AlreadyReported();
    }

    /// <summary>A config object from a schema mapping: its members, or what its parameterless or primary constructor and initialisers give them.</summary>
    private ConstBinding FromSchemaMapping(SchemaValue mapping, INamedTypeSymbol type, string path, UnboundOrigin origin)
    {
        var ctors = type.InstanceConstructors.Where(c => c.DeclaringSyntaxReferences.Length > 0).ToList();
        var ctor = ctors.FirstOrDefault(c => c.Parameters.IsEmpty && c.DeclaringSyntaxReferences[0].GetSyntax(_ct) is ConstructorDeclarationSyntax)
            ?? ctors.FirstOrDefault(c => c.DeclaringSyntaxReferences[0].GetSyntax(_ct) is TypeDeclarationSyntax);
        var arguments = new Dictionary<IParameterSymbol, ConstBinding>(SymbolEqualityComparer.Default);
        var assigned = new List<(ISymbol Member, ConstBinding Value)>();
        foreach (var given in mapping.Members)
        {
            var memberPath = path + "." + given.Name;
            var parameter = ctor?.Parameters.FirstOrDefault(p => p.Name == given.Name);
            if (parameter is not null)
            {
                arguments[parameter] = FromSchema(given.Value, parameter.Type, memberPath, $"parameter '{given.Name}' of the {type.Name} constructor", origin.Member(given.Name));
                continue;
            }

            var stored = StoredMembers(type).FirstOrDefault(m => m.Name == given.Name);
            if (stored is null)
            {
                var names = (ctor?.Parameters.Select(p => p.Name) ?? []).Concat(StoredMembers(type).Select(m => m.Name)).Distinct().ToList();
                Report(
                    ModelDiagnostics.SchemaArgumentUnknown,
                    given.Location,
                    memberPath,
                    SchemaName,
                    $"settable member of '{type.Name}'",
                    names.Count == 0 ? $"'{type.Name}' has no fields or auto-properties" : "expected one of: " + string.Join(", ", names));
                continue;
            }

            assigned.Add((stored, FromSchema(given.Value, MemberType(stored)!, memberPath, $"member '{given.Name}' of '{type.Name}'", origin.Member(given.Name))));
        }

        return Build(type, ctor, arguments, assigned, origin);
    }

    /// <summary>Instance fields and auto-properties of a config type and its config base types: what a schema mapping may set.</summary>
    private static IEnumerable<ISymbol> StoredMembers(INamedTypeSymbol type)
    {
        for (var t = type; t is not null && IsConfigType(t); t = t.BaseType)
        {
            foreach (var member in t.GetMembers())
            {
                switch (member)
                {
                    case IFieldSymbol { IsStatic: false, IsConst: false, IsImplicitlyDeclared: false, CanBeReferencedByName: true }:
                        yield return member;
                        break;
                    case IPropertySymbol { IsStatic: false, IsIndexer: false } p when IsAutoProperty(p) && p.Name != "EqualityContract":
                        yield return member;
                        break;
                }
            }
        }
    }

    /// <summary>An array or list-like generic type (<c>long[]</c>, <c>IList&lt;int&gt;</c>, …) of integers.</summary>
    private static bool IntegerElement(ITypeSymbol type)
    {
        var element = type switch
        {
            IArrayTypeSymbol { Rank: 1 } array => array.ElementType,
            INamedTypeSymbol { IsGenericType: true, TypeArguments.Length: 1 } named when named.Name is "IEnumerable" or "IList" or "IReadOnlyList" or "ICollection" or "IReadOnlyCollection" or "List" or "ImmutableArray" => named.TypeArguments[0],
            _ => null,
        };
        return element?.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Int16 or SpecialType.System_Byte
            or SpecialType.System_SByte or SpecialType.System_UInt16 or SpecialType.System_UInt32;
    }

    private static (long Min, long Max) Range(SpecialType type) => type switch
    {
        SpecialType.System_SByte => (sbyte.MinValue, sbyte.MaxValue),
        SpecialType.System_Byte => (byte.MinValue, byte.MaxValue),
        SpecialType.System_Int16 => (short.MinValue, short.MaxValue),
        SpecialType.System_UInt16 => (ushort.MinValue, ushort.MaxValue),
        SpecialType.System_Int32 => (int.MinValue, int.MaxValue),
        SpecialType.System_UInt32 => (uint.MinValue, uint.MaxValue),
        SpecialType.System_UInt64 => (0, long.MaxValue),
        _ => (long.MinValue, long.MaxValue),
    };

    /// <summary>Reports a schema argument diagnostic at its place in the YAML file; the graph is not built.</summary>
    public void Report(DiagnosticDescriptor descriptor, SourceLocation location, params string[] args) =>
        _diagnostics.Add(
            descriptor,
            ReaderLocation.FromSchema(location),
            string.Format(CultureInfo.InvariantCulture, descriptor.MessageFormat.ToString(CultureInfo.InvariantCulture), args),
            ReaderDiagnostic.GraphNotBuilt,
            null,
            null,
            args);
}

/// <summary>
/// An instance of a config class, record or struct whose members the reader knows: built from <c>new</c> with
/// constant arguments, or from the schema's <c>arguments:</c> mapping for a model constructor parameter.
/// </summary>
internal sealed class ConfigObject
{
    private readonly SizeContext _context;

    public ConfigObject(INamedTypeSymbol type, ConstScope members, UnboundOrigin? origin, SizeContext context)
    {
        Type = type;
        Members = members;
        Origin = origin;
        _context = context;
    }

    public INamedTypeSymbol Type { get; }

    /// <summary>Fields, properties and constructor parameters by symbol.</summary>
    public ConstScope Members { get; }

    /// <summary>For an object bound from the schema: where it sits, so a member nothing gives names the YAML that would.</summary>
    public UnboundOrigin? Origin { get; }

    /// <summary>
    /// A member's value: stored (initialiser, constructor, object initialiser, schema), computed by its getter, or, for
    /// a stored member nothing assigned, its type's default when the object was built inline, and unbound (NS1003
    /// naming the YAML that would bind it) when it came from the schema.
    /// </summary>
    public ConstBinding Get(ISymbol member)
    {
        if (Members.Get(member) is { } stored)
        {
            return stored;
        }

        if (member is IPropertySymbol property && _context.Getter(property, Members) is { } computed)
        {
            return computed;
        }

        if (Origin is not null)
        {
            return ConstBinding.Unbound(Origin.Member(member.Name));
        }

        var type = member switch
        {
            IFieldSymbol f => f.Type,
            IPropertySymbol p => p.Type,
            _ => null,
        };
        return type?.SpecialType switch
        {
            SpecialType.System_Boolean => ConstBinding.Of(false),
            SpecialType.System_Double or SpecialType.System_Single or SpecialType.System_Decimal => ConstBinding.Of(0.0),
            SpecialType.System_SByte or SpecialType.System_Byte or SpecialType.System_Int16 or SpecialType.System_UInt16
                or SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Int64 or SpecialType.System_UInt64 => ConstBinding.Of(0L),
            _ when type is { IsReferenceType: true } => ConstBinding.Of(null),
            _ => ConstBinding.NonConstant(),
        };
    }
}
