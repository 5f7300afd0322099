using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Graph;

/// <summary>A reference to a value: a graph input, or output <see cref="Index"/> of a node.</summary>
public sealed record ValueRef(string Source, int Index = 0)
{
    public override string ToString() => Index == 0 ? Source : Source + ":" + Index.ToString(CultureInfo.InvariantCulture);

    public static ValueRef Parse(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon > 0 && int.TryParse(text.Substring(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return new ValueRef(text.Substring(0, colon), index);
        }

        return new ValueRef(text);
    }
}

/// <summary>How an input enters the mirror.</summary>
public enum InputRole
{
    /// <summary>Dense features along the last axis, one slot per schema feature slot.</summary>
    Features,

    /// <summary>Integer indices into a categorical vocabulary; read only by an Embedding.</summary>
    Categorical,

    /// <summary>Not a world observation (e.g. a recurrent state): carries no features (paper 001 footnote 3).</summary>
    State,

    /// <summary>
    /// Where each bag of an EmbeddingBag's flat index input starts (<c>offsets</c>): an index tensor that carries no
    /// features and is read only as an EmbeddingBag's second operand.
    /// </summary>
    Offsets,
}

/// <summary>A forward parameter; a feature input's schema features sit on <see cref="FeatureAxis"/> (-1: the last axis).</summary>
public sealed record GraphInput(string Name, Shape Shape, InputRole Role, string? SchemaInput, int FeatureAxis = -1)
{
    /// <summary>The feature axis as an index: <see cref="FeatureAxis"/>, or the last axis when it is -1.</summary>
    public int FeatureAxisIndex => FeatureAxis < 0 ? Shape.Rank - 1 : FeatureAxis;

    /// <summary>The size of the feature axis (the schema width of a feature input).</summary>
    public Dim FeatureDim => Shape[FeatureAxisIndex];
}

public sealed record GraphModule(string Path, LayerSpec Spec);

public sealed record GraphNode(string Id, NodeOp Op, EquatableArray<ValueRef> Operands, EquatableArray<Shape> OutputShapes);

public sealed record GraphOutput(string Name, ValueRef Value, string? SchemaOutput);

/// <summary>A state_dict entry: full TorchSharp name, shape, and the module and role it comes from.</summary>
public sealed record GraphParameter(string Name, string Module, LayerParameter Declaration)
{
    public Shape Shape => Declaration.Shape;

    public ParameterRole Role => Declaration.Role;

    public bool IsBuffer => Declaration.IsBuffer;

    public long ElementCount => Shape.ElementCount;
}

/// <summary>
/// The graph IR of a model's forward (DESIGN.md section 4): immutable, value-equatable, independent of
/// Roslyn. Create instances with <see cref="Create"/> or <see cref="GraphBuilder"/>, which validate
/// references and infer shapes.
/// </summary>
public sealed record ModelGraph
{
    private ModelGraph(
        string name,
        EquatableArray<GraphInput> inputs,
        EquatableArray<GraphModule> modules,
        EquatableArray<GraphNode> nodes,
        EquatableArray<GraphOutput> outputs,
        EquatableArray<GraphParameter> parameters)
    {
        Name = name;
        Inputs = inputs;
        Modules = modules;
        Nodes = nodes;
        Outputs = outputs;
        Parameters = parameters;
    }

    public string Name { get; }

    public EquatableArray<GraphInput> Inputs { get; }

    /// <summary>Modules with weights, in registration order (this fixes state_dict order).</summary>
    public EquatableArray<GraphModule> Modules { get; }

    /// <summary>Nodes in evaluation order; operands refer to inputs or earlier nodes.</summary>
    public EquatableArray<GraphNode> Nodes { get; }

    public EquatableArray<GraphOutput> Outputs { get; }

    /// <summary>state_dict entries in TorchSharp's order: all parameters, then all buffers.</summary>
    public EquatableArray<GraphParameter> Parameters { get; }

    public long ParameterElementCount => Parameters.Where(p => !p.IsBuffer).Sum(p => p.ElementCount);

    public GraphModule? FindModule(string path) => Modules.FirstOrDefault(m => m.Path == path);

    public GraphParameter? FindParameter(string name) => Parameters.FirstOrDefault(p => p.Name == name);

    public GraphInput? FindInput(string name) => Inputs.FirstOrDefault(i => i.Name == name);

    public GraphNode? FindNode(string id) => Nodes.FirstOrDefault(n => n.Id == id);

    /// <summary>Shape of a value; throws <see cref="GraphException"/> for an unknown reference.</summary>
    public Shape ShapeOf(ValueRef value)
    {
        var input = FindInput(value.Source);
        if (input is not null && value.Index == 0)
        {
            return input.Shape;
        }

        var node = FindNode(value.Source);
        if (node is null || value.Index < 0 || value.Index >= node.OutputShapes.Count)
        {
            throw new GraphException($"value '{value}' refers to no input or node output");
        }

        return node.OutputShapes[value.Index];
    }

    /// <summary>
    /// Validates names and references, infers every node's output shapes and checks them against
    /// <paramref name="nodes"/> (a node given with no output shapes gets the inferred ones), and derives the
    /// parameter list. Errors name the node, the operand and both shapes.
    /// </summary>
    public static ModelGraph Create(
        string name,
        IEnumerable<GraphInput> inputs,
        IEnumerable<GraphModule> modules,
        IEnumerable<GraphNode> nodes,
        IEnumerable<GraphOutput> outputs)
    {
        // The last axis is stored as -1 so a graph compares equal however its feature axis was given.
        var inputList = inputs.Select(i => i.FeatureAxis >= 0 && i.FeatureAxis == i.Shape.Rank - 1 ? i with { FeatureAxis = -1 } : i).ToList();
        var moduleList = modules.ToList();
        var outputList = outputs.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var shapes = new Dictionary<ValueRef, Shape>();
        var roles = new Dictionary<ValueRef, InputRole>();
        var positions = new HashSet<ValueRef>();

        if (!Dim.IsIdentifier(name))
        {
            throw new GraphException($"model name '{name}' is not an identifier");
        }

        foreach (var input in inputList)
        {
            CheckName(input.Name, "input", names);
            if (input.FeatureAxis < -1 || input.FeatureAxis >= input.Shape.Rank || (input.FeatureAxis >= 0 && input.Role != InputRole.Features))
            {
                throw new GraphException($"input '{input.Name}' has shape {input.Shape} and feature axis {input.FeatureAxis}; expected -1 (the last axis) or an axis of a feature input");
            }

            if (input.Role == InputRole.Features && (input.Shape.Rank == 0 || !input.FeatureDim.IsConstant))
            {
                throw new GraphException($"input '{input.Name}' has shape {input.Shape}; a feature input needs a constant feature axis (the schema width, on axis {input.FeatureAxisIndex})");
            }

            CheckPositive(input.Shape, $"input '{input.Name}'");
            shapes[new ValueRef(input.Name)] = input.Shape;
            roles[new ValueRef(input.Name)] = input.Role;
        }

        var modulePaths = new Dictionary<string, GraphModule>(StringComparer.Ordinal);
        foreach (var module in moduleList)
        {
            if (string.IsNullOrEmpty(module.Path) || module.Path.Split('.').Any(s => s.Length == 0))
            {
                throw new GraphException($"module path '{module.Path}' is not a '.'-joined list of names");
            }

            if (modulePaths.ContainsKey(module.Path))
            {
                throw new GraphException($"module '{module.Path}' is declared twice");
            }

            ValidateSpec(module);
            modulePaths.Add(module.Path, module);
        }

        var nodeList = new List<GraphNode>();
        foreach (var node in nodes)
        {
            CheckName(node.Id, "node", names);
            var operandShapes = new List<Shape>();
            foreach (var operand in node.Operands)
            {
                if (!shapes.TryGetValue(operand, out var s))
                {
                    throw new GraphException($"node '{node.Id}' ({node.Op.Kind}): operand '{operand}' refers to no input or earlier node output");
                }

                operandShapes.Add(s);
            }

            CheckIndexOperands(
                node.Id,
                node.Op,
                node.Op is CallOp c && modulePaths.TryGetValue(c.Module, out var m) ? m.Spec : null,
                node.Operands.Select(o => (o, roles.TryGetValue(o, out var r) ? r : (InputRole?)null)).ToList(),
                positions.Contains);
            if (node.Op is ArangeOp)
            {
                positions.Add(new ValueRef(node.Id));
            }

            GraphModule? called = null;
            if (node.Op is CallOp call)
            {
                if (!modulePaths.TryGetValue(call.Module, out var module))
                {
                    throw new GraphException($"node '{node.Id}' calls module '{call.Module}', which is not declared");
                }

                called = module;
            }

            var inferred = ShapeInference.Infer(node, called, operandShapes);
            if (node.OutputShapes.Count > 0 && !node.OutputShapes.Equals(inferred.ToEquatableArray()))
            {
                throw new GraphException(
                    $"node '{node.Id}' ({node.Op.Kind}): declared output shapes {string.Join(", ", node.OutputShapes)} disagree with inferred {string.Join(", ", inferred)}");
            }

            for (var i = 0; i < inferred.Count; i++)
            {
                shapes[new ValueRef(node.Id, i)] = inferred[i];
            }

            nodeList.Add(node with { OutputShapes = inferred.ToEquatableArray() });
        }

        CheckTensorUses(nodeList, modulePaths);

        var outputNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var output in outputList)
        {
            if (!outputNames.Add(output.Name))
            {
                throw new GraphException($"output '{output.Name}' is declared twice");
            }

            if (!shapes.ContainsKey(output.Value))
            {
                throw new GraphException($"output '{output.Name}' refers to '{output.Value}', which is no input or node output");
            }
        }

        var parameters = new List<GraphParameter>();
        foreach (var buffers in new[] { false, true })
        {
            foreach (var module in moduleList)
            {
                parameters.AddRange(module.Spec.Parameters()
                    .Where(p => p.IsBuffer == buffers)
                    .Select(p => new GraphParameter(p.FullName(module.Path), module.Path, p)));
            }
        }

        return new ModelGraph(
            name,
            inputList.ToEquatableArray(),
            moduleList.ToEquatableArray(),
            nodeList.ToEquatableArray(),
            outputList.ToEquatableArray(),
            parameters.ToEquatableArray());
    }

    /// <summary>
    /// A tensor field's value (a call of a <see cref="TensorSpec"/> module) may meet data only in +, -, * and a matmul
    /// with a 2-D tensor: the ops whose mirror rules say which of its elements meet which features. A narrow of it (a
    /// position table cut to the sequence length) is the field's elements from an offset on, and may meet data in
    /// +, - and * too.
    /// </summary>
    private static void CheckTensorUses(List<GraphNode> nodes, Dictionary<string, GraphModule> modules)
    {
        var tensors = new Dictionary<ValueRef, string>();
        var narrowed = new HashSet<ValueRef>();
        var aranges = new HashSet<ValueRef>();
        foreach (var node in nodes)
        {
            // An Embedding looking up an arange is rows of its weight (a learned position table): a narrowed field.
            if (node.Op is CallOp lookup && modules.TryGetValue(lookup.Module, out var table) && table.Spec is EmbeddingSpec && node.Operands.Count == 1 && aranges.Contains(node.Operands[0]))
            {
                tensors[new ValueRef(node.Id)] = lookup.Module;
                narrowed.Add(new ValueRef(node.Id));
                continue;
            }

            if (node.Op is ArangeOp)
            {
                aranges.Add(new ValueRef(node.Id));
            }

            foreach (var operand in node.Operands)
            {
                if (!tensors.TryGetValue(operand, out var module))
                {
                    continue;
                }

                var rank = modules[module].Spec is TensorSpec t ? t.Dims.Count : 0;
                if (node.Op is NarrowOp)
                {
                    tensors[new ValueRef(node.Id)] = module;
                    narrowed.Add(new ValueRef(node.Id));
                    continue;
                }

                if (node.Op is not (BinaryOp or MatMulOp) || (node.Op is MatMulOp && (rank != 2 || narrowed.Contains(operand))))
                {
                    throw new GraphException($"node '{node.Id}' ({node.Op.Kind}): operand '{operand}' is {(modules[module].Spec is TensorSpec ? "tensor field" : "position table rows of")} '{module}'; the mirror follows a Parameter or buffer only as an operand of +, -, * or a matmul with a 2-D tensor, and narrowed rows (table[:T], an Embedding of an arange) only as an operand of +, - or *");
                }
            }

            if (node.Op is CallOp call && modules.TryGetValue(call.Module, out var m) && m.Spec is TensorSpec)
            {
                tensors[new ValueRef(node.Id)] = call.Module;
            }
        }
    }

    /// <summary>
    /// Index inputs are read only by embeddings: a categorical input as an Embedding's (or EmbeddingBag's) operand, the
    /// bag offsets as an EmbeddingBag's second operand. The mirror reads a lookup as a product with the one-hot input.
    /// </summary>
    internal static void CheckIndexOperands(string id, NodeOp op, LayerSpec? spec, IReadOnlyList<(ValueRef Ref, InputRole? Role)> operands, Func<ValueRef, bool> isPositions)
    {
        var embedding = spec as EmbeddingSpec;
        for (var i = 0; i < operands.Count; i++)
        {
            if (isPositions(operands[i].Ref) && (embedding is not { Bag: null } || i != 0))
            {
                throw new GraphException($"node '{id}' ({op.Kind}): operand '{operands[i].Ref}' is an arange made in forward; only an Embedding call may read it (a position table)");
            }

            if (operands[i].Role == InputRole.Categorical && (embedding is null || i != 0))
            {
                throw new GraphException($"node '{id}' ({op.Kind}): operand '{operands[i].Ref}' is a categorical index input; only an Embedding call may read it");
            }

            if (operands[i].Role == InputRole.Offsets && (embedding?.Bag is null || i != 1))
            {
                throw new GraphException($"node '{id}' ({op.Kind}): operand '{operands[i].Ref}' holds bag offsets; only an EmbeddingBag call may read it, as its second operand");
            }
        }

        if (embedding is null)
        {
            return;
        }

        var module = ((CallOp)op).Module;
        if (operands.Count == 0 || (operands[0].Role != InputRole.Categorical && !(embedding.Bag is null && isPositions(operands[0].Ref))) || operands.Count > (embedding.Bag is null ? 1 : 2))
        {
            throw new GraphException($"node '{id}' ({embedding.Kind} '{module}'): operand must be a categorical input{(embedding.Bag is null ? " or an arange of positions" : ", then optionally the bag offsets")}; the mirror reads embeddings as products with a one-hot input");
        }

        if (operands.Count == 2 && operands[1].Role != InputRole.Offsets)
        {
            throw new GraphException($"node '{id}' ({embedding.Kind} '{module}'): second operand '{operands[1].Ref}' is not a bag offsets input; an EmbeddingBag's offsets must be a forward parameter (the mirror cannot follow computed offsets)");
        }
    }

    private static void CheckName(string name, string what, HashSet<string> names)
    {
        if (!Dim.IsIdentifier(name))
        {
            throw new GraphException($"{what} name '{name}' is not an identifier (letters, digits, '_')");
        }

        if (!names.Add(name))
        {
            throw new GraphException($"{what} name '{name}' is used twice; input and node names must be unique");
        }
    }

    private static void CheckPositive(Shape shape, string what)
    {
        foreach (var d in shape.Dims)
        {
            if (d.IsConstant && d.Constant < 1)
            {
                throw new GraphException($"{what} has shape {shape}; every dimension must be >= 1");
            }
        }
    }

    /// <summary>A bound that keeps a hostile graph file from asking for absurd work.</summary>
    private const long MaxElements = 1L << 40;

    private static void ValidateSpec(GraphModule module)
    {
        foreach (var problem in module.Spec.Problems())
        {
            throw new GraphException($"module '{module.Path}' ({module.Spec.Kind}): {problem}");
        }

        foreach (var p in module.Spec.Parameters())
        {
            long count = 1;
            foreach (var d in p.Shape.Dims)
            {
                if (d.Constant > MaxElements || (count *= Math.Max(d.Constant, 1)) > MaxElements)
                {
                    throw new GraphException($"module '{module.Path}' ({module.Spec.Kind}): parameter '{p.LocalName}' of shape {p.Shape} exceeds {MaxElements} elements");
                }
            }
        }
    }
}

/// <summary>An inconsistent graph: the message names the node and what disagrees.</summary>
public sealed class GraphException : Exception
{
    public GraphException(string message)
        : base(message)
    {
    }

    public GraphException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public GraphException()
    {
    }
}
