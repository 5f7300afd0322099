using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Json;

/// <summary>
/// The stable, versioned JSON form of a <see cref="ModelGraph"/> (DESIGN.md section 4).
/// </summary>
/// <remarks>
/// <para>Layout (fixed property order, 2-space indentation, <c>\n</c> line endings, final newline):</para>
/// <code>
/// {
///   "format": "neuralsurgery.graph",
///   "version": 1,
///   "name": "Mlp",
///   "inputs": [ { "name", "shape", "role", "schemaInput", "featureAxis" (only when not the last axis) } ],
///   "modules": [ { "path", "spec": { "kind": "Linear", ...attributes } } ],
///   "nodes": [ { "id", "op": { "kind": "call", ...attributes }, "operands", "outputShapes" } ],
///   "outputs": [ { "name", "value", "schemaOutput" } ],
///   "parameters": [ { "name", "module", "shape", "role", "buffer", "dtype" } ]
/// }
/// </code>
/// <para>
/// Dimensions are strings in <see cref="Dim.ToString"/> form (<c>"64"</c>, <c>"B"</c>, <c>"2*N+4"</c>,
/// <c>"-1"</c>); shapes, operand lists and output-shape lists are written on one line. Op kinds are
/// <see cref="NodeOp.Kind"/>, layer kinds <see cref="LayerSpec.Kind"/>; other enums are lower-case
/// snake_case strings. Doubles use round-trip (<c>"R"</c>) formatting. "parameters" is derived: on read it
/// is recomputed from the modules and must equal what the file lists.
/// </para>
/// </remarks>
public static class GraphJson
{
    /// <summary>The value of the top-level <c>"format"</c> property.</summary>
    public const string FormatName = "neuralsurgery.graph";

    /// <summary>The only version this code reads and writes.</summary>
    public const int FormatVersion = 1;

    private static readonly string[] TopLevelProperties = ["format", "version", "name", "inputs", "modules", "nodes", "outputs", "parameters"];

    private static readonly string[] OpKinds =
    [
        "call", "activation", "softmax", "log_softmax", "dropout", "add", "sub", "mul", "div", "concat", "stack", "max", "mean",
        "sum", "reshape", "flatten", "unsqueeze", "squeeze", "narrow", "slice", "transpose", "max_pool1d", "max_pool2d",
        "avg_pool1d", "avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
        "matmul", "permute", "scale", "fill", "arange",
    ];

    private static readonly string[] LayerKinds = ["Linear", "Embedding", "EmbeddingBag", "Conv1d", "Conv2d", "LSTM", "GRU", "LayerNorm", "BatchNorm1d", "BatchNorm2d", "GroupNorm", "AttentionProjection", "ConvTranspose1d", "ConvTranspose2d", "Tensor"];

    /// <summary>Writes <paramref name="graph"/> as JSON text (see the remarks on <see cref="GraphJson"/>).</summary>
    public static string Write(ModelGraph graph) => JsonDocumentIO.ToText(WriteUtf8(graph));

    /// <summary>Writes <paramref name="graph"/> as UTF-8 JSON without a byte order mark.</summary>
    public static byte[] WriteUtf8(ModelGraph graph)
    {
        if (graph is null)
        {
            throw new ArgumentNullException(nameof(graph));
        }

        return JsonDocumentIO.WriteUtf8(graph, WriteGraph);
    }

    /// <summary>
    /// Reads a graph written by <see cref="Write"/>. Every structural error, and every inconsistency that
    /// <see cref="ModelGraph.Create"/> finds, is a <see cref="JsonFormatException"/> naming
    /// <paramref name="path"/> (when given) and the JSON path of the offending element.
    /// </summary>
    public static ModelGraph Read(string json, string? path = null) => JsonDocumentIO.Read(json, path, ReadGraph);

    /// <summary>Reads a graph from UTF-8 bytes, as <see cref="WriteUtf8"/> writes them (a byte order mark is skipped).</summary>
    public static ModelGraph ReadUtf8(ReadOnlyMemory<byte> utf8Json, string? path = null) => JsonDocumentIO.ReadUtf8(utf8Json, path, ReadGraph);

    // ---------------------------------------------------------------- writing

    internal static void WriteGraph(Utf8JsonWriter w, ModelGraph g)
    {
        w.WriteStartObject();
        w.WriteString("format", FormatName);
        w.WriteNumber("version", FormatVersion);
        w.WriteString("name", g.Name);

        w.WriteStartArray("inputs");
        foreach (var input in g.Inputs)
        {
            w.WriteStartObject();
            w.WriteString("name", input.Name);
            WriteShape(w, "shape", input.Shape);
            w.WriteString("role", EnumName(input.Role));
            WriteNullableString(w, "schemaInput", input.SchemaInput);
            if (input.FeatureAxis >= 0)
            {
                // Only when the features are not on the last axis, so graphs of the default layout keep their bytes.
                w.WriteNumber("featureAxis", input.FeatureAxis);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();

        w.WriteStartArray("modules");
        foreach (var module in g.Modules)
        {
            w.WriteStartObject();
            w.WriteString("path", module.Path);
            w.WriteStartObject("spec");
            WriteSpec(w, module.Spec);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();

        w.WriteStartArray("nodes");
        foreach (var node in g.Nodes)
        {
            w.WriteStartObject();
            w.WriteString("id", node.Id);
            w.WriteStartObject("op");
            WriteOp(w, node.Op);
            w.WriteEndObject();
            WriteInline(w, "operands", node.Operands.Select(o => JsonDocumentIO.Quote(o.ToString())));
            WriteInline(w, "outputShapes", node.OutputShapes.Select(ShapeText));
            w.WriteEndObject();
        }

        w.WriteEndArray();

        w.WriteStartArray("outputs");
        foreach (var output in g.Outputs)
        {
            w.WriteStartObject();
            w.WriteString("name", output.Name);
            w.WriteString("value", output.Value.ToString());
            WriteNullableString(w, "schemaOutput", output.SchemaOutput);
            w.WriteEndObject();
        }

        w.WriteEndArray();

        w.WriteStartArray("parameters");
        foreach (var parameter in g.Parameters)
        {
            w.WriteStartObject();
            w.WriteString("name", parameter.Name);
            w.WriteString("module", parameter.Module);
            WriteShape(w, "shape", parameter.Shape);
            w.WriteString("role", EnumName(parameter.Role));
            w.WriteBoolean("buffer", parameter.IsBuffer);
            w.WriteString("dtype", parameter.Declaration.DType);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteSpec(Utf8JsonWriter w, LayerSpec spec)
    {
        w.WriteString("kind", spec.Kind);
        spec.Accept(FieldWriter.Instance, w);
    }

    private static void WriteOp(Utf8JsonWriter w, NodeOp op)
    {
        w.WriteString("kind", op.Kind);
        op.Accept(FieldWriter.Instance, w);
    }

    /// <summary>Each op's and layer's JSON fields after its "kind"; a kind without a form is a compile error.</summary>
    private sealed class FieldWriter : IOpVisitor<Utf8JsonWriter, bool>, ILayerVisitor<Utf8JsonWriter, bool>
    {
        public static readonly FieldWriter Instance = new();

        private static void Longs(Utf8JsonWriter w, string name, IEnumerable<long> values) =>
            WriteInline(w, name, values.Select(v => v.ToString(CultureInfo.InvariantCulture)));

        public bool VisitConv2d(Conv2dSpec c, Utf8JsonWriter w)
        {
            w.WriteNumber("inChannels", c.InChannels);
            w.WriteNumber("outChannels", c.OutChannels);
            Longs(w, "kernelSize", [c.KernelH, c.KernelW]);
            Longs(w, "stride", [c.StrideH, c.StrideW]);
            Longs(w, "padding", [c.PaddingH, c.PaddingW]);
            Longs(w, "dilation", [c.DilationH, c.DilationW]);
            w.WriteNumber("groups", c.Groups);
            w.WriteBoolean("bias", c.Bias);
            return true;
        }

        public bool VisitBatchNorm2d(BatchNorm2dSpec b, Utf8JsonWriter w) => VisitBatchNorm(b, w);

        public bool VisitConvTranspose(ConvTransposeSpec c, Utf8JsonWriter w)
        {
            w.WriteNumber("inChannels", c.InChannels);
            w.WriteNumber("outChannels", c.OutChannels);
            if (c.Dimensions == 1)
            {
                w.WriteNumber("kernelSize", c.KernelW);
                w.WriteNumber("stride", c.StrideW);
                w.WriteNumber("padding", c.PaddingW);
                w.WriteNumber("outputPadding", c.OutputPaddingW);
                w.WriteNumber("dilation", c.DilationW);
            }
            else
            {
                Longs(w, "kernelSize", [c.KernelH, c.KernelW]);
                Longs(w, "stride", [c.StrideH, c.StrideW]);
                Longs(w, "padding", [c.PaddingH, c.PaddingW]);
                Longs(w, "outputPadding", [c.OutputPaddingH, c.OutputPaddingW]);
                Longs(w, "dilation", [c.DilationH, c.DilationW]);
            }

            w.WriteNumber("groups", c.Groups);
            w.WriteBoolean("bias", c.Bias);
            return true;
        }

        public bool VisitAttentionProjection(AttentionProjectionSpec p, Utf8JsonWriter w)
        {
            w.WriteNumber("embedDim", p.EmbedDim);
            w.WriteNumber("numHeads", p.NumHeads);
            w.WriteBoolean("bias", p.Bias);
            return true;
        }

        public bool VisitGroupNorm(GroupNormSpec g, Utf8JsonWriter w)
        {
            w.WriteNumber("numGroups", g.NumGroups);
            w.WriteNumber("numChannels", g.NumChannels);
            w.WriteNumber("eps", g.Eps);
            w.WriteBoolean("affine", g.Affine);
            return true;
        }

        public bool VisitTensor(TensorSpec t, Utf8JsonWriter w)
        {
            Longs(w, "dims", t.Dims);
            w.WriteBoolean("buffer", t.IsBuffer);
            w.WriteString("init", EnumName(t.Init));
            return true;
        }

        public bool VisitPool(PoolOp p, Utf8JsonWriter w)
        {
            Longs(w, "kernel", p.Kernel);
            Longs(w, "stride", p.Stride);
            Longs(w, "padding", p.Padding);
            Longs(w, "dilation", p.Dilation);
            return true;
        }

        public bool VisitMatMul(MatMulOp m, Utf8JsonWriter w) => true;

        public bool VisitArange(ArangeOp a, Utf8JsonWriter w)
        {
            w.WriteNumber("start", a.Start);
            if (a.End.IsConstant)
            {
                w.WriteNumber("end", a.End.Constant);
            }
            else
            {
                w.WriteString("end", a.End.ToString());
            }

            return true;
        }

        public bool VisitFill(FillOp f, Utf8JsonWriter w)
        {
            WriteFiniteDouble(w, "value", f.Value);
            WriteInline(w, "shape", f.Target.Select(d => JsonDocumentIO.Quote(d.ToString())));
            return true;
        }

        public bool VisitScale(ScaleOp s, Utf8JsonWriter w)
        {
            WriteFiniteDouble(w, "factor", s.Factor);
            if (s.Offset != 0)
            {
                WriteFiniteDouble(w, "offset", s.Offset); // only when there is one: graphs without keep their bytes
            }

            return true;
        }

        public bool VisitPermute(PermuteOp p, Utf8JsonWriter w)
        {
            WriteInline(w, "dims", p.Dims.Select(d => d.ToString(CultureInfo.InvariantCulture)));
            return true;
        }

        public bool VisitAdaptivePool(AdaptivePoolOp p, Utf8JsonWriter w)
        {
            Longs(w, "output", p.Output);
            return true;
        }

        public bool VisitLinear(LinearSpec l, Utf8JsonWriter w)
        {
            w.WriteNumber("inFeatures", l.InFeatures);
            w.WriteNumber("outFeatures", l.OutFeatures);
            w.WriteBoolean("bias", l.Bias);
            return true;
        }

        public bool VisitEmbedding(EmbeddingSpec e, Utf8JsonWriter w)
        {
            w.WriteNumber("numEmbeddings", e.NumEmbeddings);
            w.WriteNumber("embeddingDim", e.EmbeddingDim);
            if (e.Bag is { } bag)
            {
                w.WriteString("mode", bag.Mode);
                w.WriteBoolean("includeLastOffset", bag.IncludeLastOffset);
            }

            return true;
        }

        public bool VisitConv1d(Conv1dSpec c, Utf8JsonWriter w)
        {
            w.WriteNumber("inChannels", c.InChannels);
            w.WriteNumber("outChannels", c.OutChannels);
            w.WriteNumber("kernelSize", c.KernelSize);
            w.WriteNumber("stride", c.Stride);
            w.WriteNumber("padding", c.Padding);
            w.WriteNumber("dilation", c.Dilation);
            w.WriteNumber("groups", c.Groups);
            w.WriteBoolean("bias", c.Bias);
            return true;
        }

        public bool VisitRecurrent(RecurrentSpec r, Utf8JsonWriter w)
        {
            w.WriteNumber("inputSize", r.InputSize);
            w.WriteNumber("hiddenSize", r.HiddenSize);
            w.WriteNumber("numLayers", r.NumLayers);
            w.WriteBoolean("bias", r.Bias);
            w.WriteBoolean("batchFirst", r.BatchFirst);
            w.WriteBoolean("bidirectional", r.Bidirectional);
            return true;
        }

        public bool VisitLayerNorm(LayerNormSpec n, Utf8JsonWriter w)
        {
            WriteInline(w, "normalizedShape", n.NormalizedShape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
            WriteFiniteDouble(w, "eps", n.Eps);
            w.WriteBoolean("elementwiseAffine", n.ElementwiseAffine);
            w.WriteBoolean("bias", n.Bias);
            return true;
        }

        public bool VisitBatchNorm1d(BatchNorm1dSpec b, Utf8JsonWriter w) => VisitBatchNorm(b, w);

        private static bool VisitBatchNorm(BatchNormSpec b, Utf8JsonWriter w)
        {
            w.WriteNumber("numFeatures", b.NumFeatures);
            WriteFiniteDouble(w, "eps", b.Eps);
            WriteFiniteDouble(w, "momentum", b.Momentum);
            w.WriteBoolean("affine", b.Affine);
            w.WriteBoolean("trackRunningStats", b.TrackRunningStats);
            return true;
        }

        public bool VisitCall(CallOp c, Utf8JsonWriter w)
        {
            w.WriteString("module", c.Module);
            return true;
        }

        public bool VisitActivation(ActivationOp a, Utf8JsonWriter w)
        {
            w.WriteString("activation", EnumName(a.Activation));
            return true;
        }

        public bool VisitSoftmax(SoftmaxOp s, Utf8JsonWriter w)
        {
            w.WriteNumber("axis", s.Axis);
            return true;
        }

        public bool VisitDropout(DropoutOp d, Utf8JsonWriter w)
        {
            WriteFiniteDouble(w, "p", d.P);
            return true;
        }

        public bool VisitBinary(BinaryOp x, Utf8JsonWriter w) => true;

        public bool VisitConcat(ConcatOp c, Utf8JsonWriter w)
        {
            w.WriteNumber("axis", c.Axis);
            return true;
        }

        public bool VisitStack(StackOp s, Utf8JsonWriter w)
        {
            w.WriteNumber("axis", s.Axis);
            return true;
        }

        public bool VisitReduce(ReduceOp r, Utf8JsonWriter w)
        {
            w.WriteNumber("axis", r.Axis);
            w.WriteBoolean("keepDim", r.KeepDim);
            return true;
        }

        public bool VisitReshape(ReshapeOp r, Utf8JsonWriter w)
        {
            WriteInline(w, "target", r.Target.Select(d => JsonDocumentIO.Quote(d.ToString())));
            return true;
        }

        public bool VisitFlatten(FlattenOp f, Utf8JsonWriter w)
        {
            w.WriteNumber("startAxis", f.StartAxis);
            w.WriteNumber("endAxis", f.EndAxis);
            return true;
        }

        public bool VisitUnsqueeze(UnsqueezeOp u, Utf8JsonWriter w)
        {
            w.WriteNumber("axis", u.Axis);
            return true;
        }

        public bool VisitSqueeze(SqueezeOp s, Utf8JsonWriter w)
        {
            w.WriteNumber("axis", s.Axis);
            return true;
        }

        public bool VisitNarrow(NarrowOp n, Utf8JsonWriter w)
        {
            w.WriteNumber("axis", n.Axis);
            w.WriteNumber("start", n.Start);
            if (n.Length.IsConstant)
            {
                w.WriteNumber("length", n.Length.Constant);
            }
            else
            {
                w.WriteString("length", n.Length.ToString());
            }
            return true;
        }

        public bool VisitSlice(SliceOp s, Utf8JsonWriter w)
        {
            w.WriteNumber("axis", s.Axis);
            w.WriteNumber("start", s.Start);
            w.WriteNumber("end", s.End);
            w.WriteNumber("step", s.Step);
            return true;
        }

        public bool VisitTranspose(TransposeOp t, Utf8JsonWriter w)
        {
            w.WriteNumber("axis0", t.Axis0);
            w.WriteNumber("axis1", t.Axis1);
            return true;
        }
    }

    private static void WriteNullableString(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteShape(Utf8JsonWriter w, string name, Shape shape) => w.WriteRawProperty(name, ShapeText(shape));

    private static void WriteInline(Utf8JsonWriter w, string name, IEnumerable<string> items) =>
        w.WriteRawProperty(name, "[" + string.Join(", ", items) + "]");

    /// <summary>Round-trip text of a double (<see cref="JsonDocumentIO.DoubleText"/>); non-finite values have no JSON form.</summary>
    private static void WriteFiniteDouble(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            throw new ArgumentException($"'{name}' is {value.ToString(CultureInfo.InvariantCulture)}; JSON has no non-finite numbers", nameof(value));
        }

        w.WriteDouble(name, value);
    }

    private static string ShapeText(Shape shape) => "[" + string.Join(", ", shape.Dims.Select(d => JsonDocumentIO.Quote(d.ToString()))) + "]";

    private static string EnumName<T>(T value)
        where T : struct, Enum
    {
        if (!Enum.IsDefined(typeof(T), value))
        {
            throw new ArgumentException($"{typeof(T).Name} value {value} is not defined", nameof(value));
        }

        var text = value.ToString();
        var sb = new StringBuilder(text.Length + 4);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsUpper(c))
            {
                if (i > 0)
                {
                    sb.Append('_');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    // ---------------------------------------------------------------- reading

    internal static ModelGraph ReadGraph(JsonElement rootElement, string? file)
    {
        var root = JsonDocumentIO.OpenRoot(rootElement, file, FormatName, FormatVersion, TopLevelProperties);
        var name = root.String("name");

        var inputs = new List<GraphInput>();
        foreach (var (element, path) in root.Array("inputs"))
        {
            var o = JsonObjectReader.Open(element, path, file);
            o.Allow("name", "shape", "role", "schemaInput", "featureAxis");
            inputs.Add(new GraphInput(
                o.String("name"),
                ReadShape(o, "shape"),
                ReadEnum<InputRole>(o, "role", "input role"),
                o.NullableString("schemaInput"),
                o.Has("featureAxis") ? o.Int32("featureAxis") : -1));
        }

        var modules = new List<GraphModule>();
        foreach (var (element, path) in root.Array("modules"))
        {
            var o = JsonObjectReader.Open(element, path, file);
            o.Allow("path", "spec");
            modules.Add(new GraphModule(o.String("path"), ReadSpec(o.Object("spec"))));
        }

        var moduleNames = new HashSet<string>(modules.Select(m => m.Path), StringComparer.Ordinal);

        // Output counts of the values seen so far, to point at a dangling operand by its JSON path.
        var values = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var input in inputs)
        {
            values[input.Name] = 1;
        }

        var nodes = new List<GraphNode>();
        foreach (var (element, path) in root.Array("nodes"))
        {
            var o = JsonObjectReader.Open(element, path, file);
            o.Allow("id", "op", "operands", "outputShapes");
            var id = o.String("id");
            var op = ReadOp(o.Object("op"), moduleNames);
            var operands = new List<ValueRef>();
            foreach (var (operandElement, operandPath) in o.Array("operands"))
            {
                operands.Add(ReadValueRef(operandElement, operandPath, file, values));
            }

            var shapes = new List<Shape>();
            foreach (var (shapeElement, shapePath) in o.Array("outputShapes"))
            {
                shapes.Add(ReadShape(shapeElement, shapePath, file));
            }

            if (shapes.Count == 0)
            {
                throw JsonObjectReader.Fail(file, o.PathOf("outputShapes"), "expected at least one output shape");
            }

            if (!values.ContainsKey(id))
            {
                values[id] = shapes.Count;
            }

            nodes.Add(new GraphNode(id, op, operands.ToEquatableArray(), shapes.ToEquatableArray()));
        }

        var outputs = new List<GraphOutput>();
        foreach (var (element, path) in root.Array("outputs"))
        {
            var o = JsonObjectReader.Open(element, path, file);
            o.Allow("name", "value", "schemaOutput");
            outputs.Add(new GraphOutput(
                o.String("name"),
                ReadValueRef(o.Required("value"), o.PathOf("value"), file, values),
                o.NullableString("schemaOutput")));
        }

        var parameters = new List<(string Name, string Module, Shape Shape, ParameterRole Role, bool Buffer, string DType)>();
        var parameterPaths = new List<string>();
        foreach (var (element, path) in root.Array("parameters"))
        {
            var o = JsonObjectReader.Open(element, path, file);
            o.Allow("name", "module", "shape", "role", "buffer", "dtype");
            parameters.Add((
                o.String("name"),
                o.String("module"),
                ReadShape(o, "shape"),
                ReadEnum<ParameterRole>(o, "role", "parameter role"),
                o.Boolean("buffer"),
                o.String("dtype")));
            parameterPaths.Add(path);
        }

        ModelGraph graph;
        try
        {
            graph = ModelGraph.Create(name, inputs, modules, nodes, outputs);
        }
        catch (GraphException e)
        {
            throw new JsonFormatException(file, Locate(name, inputs, modules, nodes, outputs), null, null, e.Message, e);
        }

        CheckParameters(graph, parameters, parameterPaths, file);
        return graph;
    }

    private static void CheckParameters(
        ModelGraph graph,
        List<(string Name, string Module, Shape Shape, ParameterRole Role, bool Buffer, string DType)> listed,
        List<string> paths,
        string? file)
    {
        const string Order = "the state_dict derived from the modules (parameters, then buffers, in module order)";
        var derived = graph.Parameters;
        for (var i = 0; i < Math.Min(listed.Count, derived.Count); i++)
        {
            var (name, module, shape, role, buffer, dtype) = listed[i];
            var d = derived[i];
            var path = paths[i];
            if (!string.Equals(name, d.Name, StringComparison.Ordinal))
            {
                throw JsonObjectReader.Fail(file, path + ".name", $"parameter '{name}' disagrees with {Order}, whose entry {i.ToString(CultureInfo.InvariantCulture)} is '{d.Name}'");
            }

            string? field = null;
            string? detail = null;
            if (!string.Equals(module, d.Module, StringComparison.Ordinal))
            {
                (field, detail) = ("module", $"module '{module}' but the modules give '{d.Module}'");
            }
            else if (shape != d.Shape)
            {
                (field, detail) = ("shape", $"shape {shape} but the modules give {d.Shape}");
            }
            else if (role != d.Role)
            {
                (field, detail) = ("role", $"role '{EnumName(role)}' but the modules give '{EnumName(d.Role)}'");
            }
            else if (buffer != d.IsBuffer)
            {
                (field, detail) = ("buffer", $"buffer {(buffer ? "true" : "false")} but the modules give {(d.IsBuffer ? "true" : "false")}");
            }
            else if (!string.Equals(dtype, d.Declaration.DType, StringComparison.Ordinal))
            {
                (field, detail) = ("dtype", $"dtype '{dtype}' but the modules give '{d.Declaration.DType}'");
            }

            if (field is not null)
            {
                throw JsonObjectReader.Fail(file, path + "." + field, $"parameter '{name}' is listed with {detail}");
            }
        }

        if (listed.Count > derived.Count)
        {
            var extra = listed[derived.Count];
            throw JsonObjectReader.Fail(file, paths[derived.Count], $"parameter '{extra.Name}' is not in {Order}, which has {derived.Count.ToString(CultureInfo.InvariantCulture)} entries");
        }

        if (listed.Count < derived.Count)
        {
            throw JsonObjectReader.Fail(file, "$.parameters", $"parameter '{derived[listed.Count].Name}' of {Order} is missing (expected as entry {listed.Count.ToString(CultureInfo.InvariantCulture)})");
        }
    }

    /// <summary>
    /// JSON path of the first element that makes <see cref="ModelGraph.Create"/> fail: validation runs
    /// through name, inputs, modules, nodes and outputs in order, so the shortest failing prefix pins it.
    /// </summary>
    private static string? Locate(string name, List<GraphInput> inputs, List<GraphModule> modules, List<GraphNode> nodes, List<GraphOutput> outputs)
    {
        bool Fails(int i, int m, int n, int o)
        {
            try
            {
                ModelGraph.Create(name, inputs.Take(i), modules.Take(m), nodes.Take(n), outputs.Take(o));
                return false;
            }
            catch (GraphException)
            {
                return true;
            }
        }

        // Smallest k in 1..count with fails(k), or -1.
        static int FirstFailing(int count, Func<int, bool> fails)
        {
            if (count == 0 || !fails(count))
            {
                return -1;
            }

            int lo = 1, hi = count;
            while (lo < hi)
            {
                var mid = lo + ((hi - lo) / 2);
                if (fails(mid))
                {
                    hi = mid;
                }
                else
                {
                    lo = mid + 1;
                }
            }

            return lo;
        }

        static string At(string array, int k) => "$." + array + "[" + (k - 1).ToString(CultureInfo.InvariantCulture) + "]";

        if (Fails(0, 0, 0, 0))
        {
            return "$.name";
        }

        int k;
        if ((k = FirstFailing(inputs.Count, c => Fails(c, 0, 0, 0))) > 0)
        {
            return At("inputs", k);
        }

        if ((k = FirstFailing(modules.Count, c => Fails(inputs.Count, c, 0, 0))) > 0)
        {
            return At("modules", k);
        }

        if ((k = FirstFailing(nodes.Count, c => Fails(inputs.Count, modules.Count, c, 0))) > 0)
        {
            return At("nodes", k);
        }

        if ((k = FirstFailing(outputs.Count, c => Fails(inputs.Count, modules.Count, nodes.Count, c))) > 0)
        {
            return At("outputs", k);
        }

        return null;
    }

    private static EquatableArray<long> Longs(JsonObjectReader o, string name) =>
        o.Array(name).Select(e => JsonObjectReader.ReadInt64(e.Element, e.Path, o.File)).ToEquatableArray();

    /// <summary>A two-element array (a 2-D kernel, stride, padding or dilation).</summary>
    private static long[] Pair(JsonObjectReader o, string name)
    {
        var values = Longs(o, name);
        return values.Count == 2
            ? [values[0], values[1]]
            : throw JsonObjectReader.Fail(o.File, o.PathOf(name), $"{name} has {values.Count} values; expected 2 (height, width)");
    }

    private static LayerSpec ReadSpec(JsonObjectReader o)
    {
        var kind = LayerKinds[JsonObjectReader.ReadChoice(o.Required("kind"), o.PathOf("kind"), o.File, LayerKinds, "layer kind")];
        switch (kind)
        {
            case "Linear":
                o.Allow("kind", "inFeatures", "outFeatures", "bias");
                return new LinearSpec(o.Int64("inFeatures"), o.Int64("outFeatures"), o.Boolean("bias"));
            case "Embedding":
                o.Allow("kind", "numEmbeddings", "embeddingDim");
                return new EmbeddingSpec(o.Int64("numEmbeddings"), o.Int64("embeddingDim"));
            case "EmbeddingBag":
                o.Allow("kind", "numEmbeddings", "embeddingDim", "mode", "includeLastOffset");
                return new EmbeddingSpec(o.Int64("numEmbeddings"), o.Int64("embeddingDim"), new BagReduction(o.String("mode"), o.Boolean("includeLastOffset")));
            case "Conv1d":
                o.Allow("kind", "inChannels", "outChannels", "kernelSize", "stride", "padding", "dilation", "groups", "bias");
                return new Conv1dSpec(
                    o.Int64("inChannels"),
                    o.Int64("outChannels"),
                    o.Int64("kernelSize"),
                    o.Int64("stride"),
                    o.Int64("padding"),
                    o.Int64("dilation"),
                    o.Int64("groups"),
                    o.Boolean("bias"));
            case "LSTM":
            case "GRU":
                o.Allow("kind", "inputSize", "hiddenSize", "numLayers", "bias", "batchFirst", "bidirectional");
                return new RecurrentSpec(
                    kind == "LSTM" ? RecurrentKind.Lstm : RecurrentKind.Gru,
                    o.Int64("inputSize"),
                    o.Int64("hiddenSize"),
                    o.Int32("numLayers"),
                    o.Boolean("bias"),
                    o.Boolean("batchFirst"),
                    o.Boolean("bidirectional"));
            case "Conv2d":
            {
                o.Allow("kind", "inChannels", "outChannels", "kernelSize", "stride", "padding", "dilation", "groups", "bias");
                var k = Pair(o, "kernelSize");
                var st = Pair(o, "stride");
                var p = Pair(o, "padding");
                var d = Pair(o, "dilation");
                return new Conv2dSpec(o.Int64("inChannels"), o.Int64("outChannels"), k[0], k[1], st[0], st[1], p[0], p[1], d[0], d[1], o.Int64("groups"), o.Boolean("bias"));
            }

            case "Tensor":
                o.Allow("kind", "dims", "buffer", "init");
                return new TensorSpec(Longs(o, "dims"), o.Boolean("buffer"), ReadEnum<TensorInit>(o, "init", "tensor init"));
            case "ConvTranspose1d":
                o.Allow("kind", "inChannels", "outChannels", "kernelSize", "stride", "padding", "outputPadding", "dilation", "groups", "bias");
                return ConvTransposeSpec.OneD(
                    o.Int64("inChannels"), o.Int64("outChannels"), o.Int64("kernelSize"), o.Int64("stride"), o.Int64("padding"), o.Int64("outputPadding"), o.Int64("dilation"), o.Int64("groups"), o.Boolean("bias"));
            case "ConvTranspose2d":
            {
                o.Allow("kind", "inChannels", "outChannels", "kernelSize", "stride", "padding", "outputPadding", "dilation", "groups", "bias");
                var k = Pair(o, "kernelSize");
                var st = Pair(o, "stride");
                var p = Pair(o, "padding");
                var op = Pair(o, "outputPadding");
                var d = Pair(o, "dilation");
                return new ConvTransposeSpec(2, o.Int64("inChannels"), o.Int64("outChannels"), k[0], k[1], st[0], st[1], p[0], p[1], op[0], op[1], d[0], d[1], o.Int64("groups"), o.Boolean("bias"));
            }

            case "AttentionProjection":
                o.Allow("kind", "embedDim", "numHeads", "bias");
                return new AttentionProjectionSpec(o.Int64("embedDim"), o.Int64("numHeads"), o.Boolean("bias"));
            case "GroupNorm":
                o.Allow("kind", "numGroups", "numChannels", "eps", "affine");
                return new GroupNormSpec(o.Int64("numGroups"), o.Int64("numChannels"), o.Double("eps"), o.Boolean("affine"));
            case "BatchNorm2d":
                o.Allow("kind", "numFeatures", "eps", "momentum", "affine", "trackRunningStats");
                return new BatchNorm2dSpec(o.Int64("numFeatures"), o.Double("eps"), o.Double("momentum"), o.Boolean("affine"), o.Boolean("trackRunningStats"));
            case "LayerNorm":
            {
                o.Allow("kind", "normalizedShape", "eps", "elementwiseAffine", "bias");
                var shape = o.Array("normalizedShape").Select(e => JsonObjectReader.ReadInt64(e.Element, e.Path, o.File)).ToEquatableArray();
                return new LayerNormSpec(shape, o.Double("eps"), o.Boolean("elementwiseAffine"), o.Boolean("bias"));
            }

            default:
                o.Allow("kind", "numFeatures", "eps", "momentum", "affine", "trackRunningStats");
                return new BatchNorm1dSpec(o.Int64("numFeatures"), o.Double("eps"), o.Double("momentum"), o.Boolean("affine"), o.Boolean("trackRunningStats"));
        }
    }

    private static NodeOp ReadOp(JsonObjectReader o, HashSet<string> modules)
    {
        var kind = OpKinds[JsonObjectReader.ReadChoice(o.Required("kind"), o.PathOf("kind"), o.File, OpKinds, "op kind")];
        switch (kind)
        {
            case "call":
            {
                o.Allow("kind", "module");
                var module = o.String("module");
                if (!modules.Contains(module))
                {
                    throw JsonObjectReader.Fail(o.File, o.PathOf("module"), $"module '{module}' is not declared in $.modules");
                }

                return new CallOp(module);
            }

            case "activation":
                o.Allow("kind", "activation");
                return new ActivationOp(ReadEnum<ActivationKind>(o, "activation", "activation"));
            case "softmax":
            case "log_softmax":
                o.Allow("kind", "axis");
                return new SoftmaxOp(o.Int32("axis"), kind == "log_softmax");
            case "dropout":
                o.Allow("kind", "p");
                return new DropoutOp(o.Double("p"));
            case "add":
                o.Allow("kind");
                return new BinaryOp(BinaryKind.Add);
            case "sub":
                o.Allow("kind");
                return new BinaryOp(BinaryKind.Sub);
            case "mul":
                o.Allow("kind");
                return new BinaryOp(BinaryKind.Mul);
            case "div":
                o.Allow("kind");
                return new BinaryOp(BinaryKind.Div);
            case "concat":
                o.Allow("kind", "axis");
                return new ConcatOp(o.Int32("axis"));
            case "stack":
                o.Allow("kind", "axis");
                return new StackOp(o.Int32("axis"));
            case "max":
            case "mean":
            case "sum":
                o.Allow("kind", "axis", "keepDim");
                return new ReduceOp(kind == "max" ? ReduceKind.Max : kind == "mean" ? ReduceKind.Mean : ReduceKind.Sum, o.Int32("axis"), o.Boolean("keepDim"));
            case "reshape":
                o.Allow("kind", "target");
                return new ReshapeOp(ReadDims(o.Required("target"), o.PathOf("target"), o.File).ToEquatableArray());
            case "flatten":
                o.Allow("kind", "startAxis", "endAxis");
                return new FlattenOp(o.Int32("startAxis"), o.Int32("endAxis"));
            case "unsqueeze":
                o.Allow("kind", "axis");
                return new UnsqueezeOp(o.Int32("axis"));
            case "squeeze":
                o.Allow("kind", "axis");
                return new SqueezeOp(o.Int32("axis"));
            case "narrow":
                o.Allow("kind", "axis", "start", "length");
                return new NarrowOp(o.Int32("axis"), o.Int64("start"), ReadLength(o, "length"));
            case "slice":
                o.Allow("kind", "axis", "start", "end", "step");
                return new SliceOp(o.Int32("axis"), o.Int64("start"), o.Int64("end"), o.Int64("step"));
            case "max_pool1d" or "max_pool2d" or "avg_pool1d" or "avg_pool2d":
                o.Allow("kind", "kernel", "stride", "padding", "dilation");
                return new PoolOp(
                    kind.StartsWith("max", StringComparison.Ordinal) ? PoolKind.Max : PoolKind.Avg,
                    Longs(o, "kernel"),
                    Longs(o, "stride"),
                    Longs(o, "padding"),
                    Longs(o, "dilation"));
            case "matmul":
                o.Allow("kind");
                return new MatMulOp();
            case "scale":
                o.Allow("kind", "factor", "offset");
                return new ScaleOp(o.Double("factor"), o.Has("offset") ? o.Double("offset") : 0);
            case "fill":
                o.Allow("kind", "value", "shape");
                return new FillOp(o.Double("value"), ReadDims(o.Required("shape"), o.PathOf("shape"), o.File).ToEquatableArray());
            case "arange":
                o.Allow("kind", "start", "end");
                return new ArangeOp(o.Int64("start"), ReadLength(o, "end"));
            case "permute":
                o.Allow("kind", "dims");
                return new PermuteOp(o.Array("dims").Select(e => JsonObjectReader.ReadInt32(e.Element, e.Path, o.File)).ToEquatableArray());
            case "adaptive_max_pool1d" or "adaptive_max_pool2d" or "adaptive_avg_pool1d" or "adaptive_avg_pool2d":
                o.Allow("kind", "output");
                return new AdaptivePoolOp(kind.StartsWith("adaptive_max", StringComparison.Ordinal) ? PoolKind.Max : PoolKind.Avg, Longs(o, "output"));
            default:
                o.Allow("kind", "axis0", "axis1");
                return new TransposeOp(o.Int32("axis0"), o.Int32("axis1"));
        }
    }

    private static ValueRef ReadValueRef(JsonElement element, string path, string? file, Dictionary<string, int> values)
    {
        var text = JsonObjectReader.ReadString(element, path, file);
        var value = ValueRef.Parse(text);
        if (!values.TryGetValue(value.Source, out var count) || value.Index >= count)
        {
            throw JsonObjectReader.Fail(file, path, $"'{text}' refers to no input or earlier node output");
        }

        return value;
    }

    private static Shape ReadShape(JsonObjectReader o, string name) => ReadShape(o.Required(name), o.PathOf(name), o.File);

    private static Shape ReadShape(JsonElement element, string path, string? file) => new(ReadDims(element, path, file));

    /// <summary>A number, or a dimension text for a size known only at run time ("T", "N+1").</summary>
    private static Dim ReadLength(JsonObjectReader o, string name)
    {
        var element = o.Required(name);
        if (element.ValueKind == JsonValueKind.Number)
        {
            return Dim.Of(o.Int64(name));
        }

        var text = JsonObjectReader.ReadString(element, o.PathOf(name), o.File);
        return Dim.TryParse(text, out var dim) && dim is not null
            ? dim
            : throw JsonObjectReader.Fail(o.File, o.PathOf(name), $"'{text}' is not a length; expected a number or a dimension such as \"T\" or \"N+1\"");
    }

    private static List<Dim> ReadDims(JsonElement element, string path, string? file)
    {
        var dims = new List<Dim>();
        foreach (var (item, itemPath) in JsonObjectReader.ReadArray(element, path, file))
        {
            var text = JsonObjectReader.ReadString(item, itemPath, file);
            if (!Dim.TryParse(text, out var dim) || dim is null)
            {
                throw JsonObjectReader.Fail(file, itemPath, $"'{text}' is not a dimension; expected a constant, a symbol or a linear form such as \"64\", \"B\", \"2*N+4\"");
            }

            dims.Add(dim);
        }

        return dims;
    }

    private static T ReadEnum<T>(JsonObjectReader o, string name, string what)
        where T : struct, Enum
    {
        var values = (T[])Enum.GetValues(typeof(T));
        var names = values.Select(EnumName).ToList();
        return values[JsonObjectReader.ReadChoice(o.Required(name), o.PathOf(name), o.File, names, what)];
    }
}
