using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using NeuralSurgery.Collections;
using NeuralSurgery.Plan;
using NeuralSurgery.Snapshots;

namespace NeuralSurgery.Json;

/// <summary>
/// The stable, versioned JSON form of a <see cref="SurgeryPlan"/> (DESIGN.md section 6).
/// </summary>
/// <remarks>
/// <para>Layout (fixed property order, 2-space indentation, <c>\n</c> line endings, final newline):</para>
/// <code>
/// {
///   "format": "neuralsurgery.plan",
///   "version": 1,
///   "from": { "model", "version", "fingerprint"? },
///   "to": { "model", "version", "fingerprint"? },
///   "options": { "newOutputBias", "moduleRenames": [ { "from", "to" } ], "unitMaps": [ { "space", "sources" } ] },
///   "totals": { "copied", "target", "source", "shareOfTarget", "shareOfSource" },
///   "tensors": [ { "name", "shape", "dtype", "buffer", "source", "sourceShape",
///                  "axes": [ { "role", "length", "sourceLength", "unmapped", "segments" } ],
///                  "initOrder", "init", "add" (only when present), "copied", "total" } ],
///   "dropped": [ { "kind", "name", "elements", "parameters": [ { "parameter", "elements" } ] } ],
///   "notes": [ "..." ]
/// }
/// </code>
/// <para>
/// Shapes, <c>initOrder</c>, unit-map sources and init rules are written on one line; a segment is the
/// compact array <c>[start, length, sourceStart]</c> (<c>sourceStart</c> -1 for indices that are not
/// copied) and an axis's segments share one line. Init rules are <c>{"kind": "zeros"}</c>,
/// <c>{"kind": "ones"}</c> or <c>{"kind": "constant" | "uniform" | "normal", "value": v}</c>; other enums are
/// lower-case snake_case strings. Doubles use round-trip (<c>"R"</c>) formatting, identical on every target
/// framework. A tensor without a source has <c>"source": null</c>, <c>"sourceShape": []</c> and axes whose
/// <c>sourceLength</c> is 0.
/// </para>
/// <para>
/// Derived fields: a tensor's <c>copied</c> and <c>total</c> and a dropped item's <c>elements</c> are
/// recomputed on read and must equal what the file lists; the totals' <c>copied</c> and <c>target</c> must
/// equal the sums over non-buffer tensors, and <c>source</c> must cover every source tensor they copy from.
/// The shares are written for humans: on read they are recomputed and only need to agree to within
/// <see cref="ShareTolerance"/>.
/// </para>
/// </remarks>
public static class PlanJson
{
    /// <summary>The value of the top-level <c>"format"</c> property.</summary>
    public const string FormatName = "neuralsurgery.plan";

    /// <summary>The file name suffix the build and <c>surgery snapshot add</c> look for plans by.</summary>
    public const string FileSuffix = ".plan.json";

    /// <summary>
    /// Whether <paramref name="text"/> says it is a NeuralSurgery plan (names <see cref="FormatName"/>): a file of
    /// another tool that ends in <see cref="FileSuffix"/> is left alone, one that says so and does not read is an error.
    /// </summary>
    public static bool ClaimsFormat(string text) => text is not null && text.IndexOf("\"" + FormatName + "\"", StringComparison.Ordinal) >= 0;

    /// <summary>The only version this code reads and writes.</summary>
    public const int FormatVersion = 1;

    /// <summary>How far (relative to the larger of 1 and the recomputed value) a share in the file may be from the recomputed one.</summary>
    public const double ShareTolerance = 1e-9;

    private static readonly string[] TopLevelProperties = ["format", "version", "from", "to", "options", "totals", "tensors", "dropped", "notes"];

    private static readonly string[] TensorProperties = ["name", "shape", "dtype", "buffer", "source", "sourceShape", "axes", "initOrder", "init", "add", "copied", "total"];

    private static readonly string[] AxisProperties = ["role", "length", "sourceLength", "unmapped", "segments"];

    // Names are spelled out rather than derived from the enums so that renaming a member cannot change the format.
    private static readonly (AxisRole Value, string Name)[] AxisRoles =
    [
        (AxisRole.Output, "output"),
        (AxisRole.Input, "input"),
        (AxisRole.Elementwise, "elementwise"),
        (AxisRole.Kernel, "kernel"),
    ];

    private static readonly (InitKind Value, string Name)[] InitKinds =
    [
        (InitKind.Zeros, "zeros"),
        (InitKind.Ones, "ones"),
        (InitKind.Constant, "constant"),
        (InitKind.Uniform, "uniform"),
        (InitKind.Normal, "normal"),
    ];

    private static readonly (DroppedKind Value, string Name)[] DroppedKinds =
    [
        (DroppedKind.Feature, "feature"),
        (DroppedKind.CategoricalValue, "categorical_value"),
        (DroppedKind.OutputFeature, "output_feature"),
        (DroppedKind.Units, "units"),
        (DroppedKind.Parameter, "parameter"),
    ];

    /// <summary>Writes <paramref name="plan"/> as JSON text (see the remarks on <see cref="PlanJson"/>).</summary>
    /// <exception cref="ArgumentException">The plan is inconsistent (a file <see cref="Read"/> would reject); the message names the JSON path.</exception>
    public static string Write(SurgeryPlan plan) => JsonDocumentIO.ToText(WriteUtf8(plan));

    /// <summary>Writes <paramref name="plan"/> as UTF-8 JSON without a byte order mark.</summary>
    /// <exception cref="ArgumentException">The plan is inconsistent (a file <see cref="Read"/> would reject); the message names the JSON path.</exception>
    public static byte[] WriteUtf8(SurgeryPlan plan)
    {
        if (plan is null)
        {
            throw new ArgumentNullException(nameof(plan));
        }

        if (Check(plan) is { } problem)
        {
            throw new ArgumentException($"the plan cannot be written: {problem.Path}: {problem.Detail}", nameof(plan));
        }

        return JsonDocumentIO.WriteUtf8(plan, WritePlan);
    }

    /// <summary>
    /// Reads a plan written by <see cref="Write"/>. Every structural error and every inconsistency (segments
    /// that do not tile their axis, derived counts that disagree, ...) is a <see cref="JsonFormatException"/>
    /// naming <paramref name="path"/> (when given), the JSON path of the offending element and the tensor.
    /// </summary>
    public static SurgeryPlan Read(string json, string? path = null) => JsonDocumentIO.Read(json, path, ReadPlan);

    /// <summary>Reads a plan from UTF-8 bytes, as <see cref="WriteUtf8"/> writes them (a byte order mark is skipped).</summary>
    public static SurgeryPlan ReadUtf8(ReadOnlyMemory<byte> utf8Json, string? path = null) => JsonDocumentIO.ReadUtf8(utf8Json, path, ReadPlan);

    /// <summary>Writes <paramref name="plan"/> as a JSON object into another document (a snapshot's recorded step).</summary>
    internal static void WriteObject(Utf8JsonWriter w, SurgeryPlan plan)
    {
        if (Check(plan) is { } problem)
        {
            throw new ArgumentException($"the plan cannot be written: {problem.Path}: {problem.Detail}", nameof(plan));
        }

        WritePlan(w, plan);
    }

    // ---------------------------------------------------------------- writing

    private static void WritePlan(Utf8JsonWriter w, SurgeryPlan plan)
    {
        w.WriteStartObject();
        w.WriteString("format", FormatName);
        w.WriteNumber("version", FormatVersion);
        WriteVersion(w, "from", plan.From);
        WriteVersion(w, "to", plan.To);

        w.WriteStartObject("options");
        w.WriteDouble("newOutputBias", plan.Options.NewOutputBias);
        w.WriteStartArray("moduleRenames");
        foreach (var rename in plan.Options.ModuleRenames)
        {
            w.WriteStartObject();
            w.WriteString("from", rename.From);
            w.WriteString("to", rename.To);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("unitMaps");
        foreach (var map in plan.Options.UnitMaps)
        {
            w.WriteStartObject();
            w.WriteString("space", map.Space);
            w.WriteRawProperty("sources", Numbers(map.Sources));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteStartObject("totals");
        w.WriteNumber("copied", plan.Totals.CopiedElements);
        w.WriteNumber("target", plan.Totals.TargetElements);
        w.WriteNumber("source", plan.Totals.SourceElements);
        w.WriteDouble("shareOfTarget", plan.Totals.ShareOfTarget);
        w.WriteDouble("shareOfSource", plan.Totals.ShareOfSource);
        w.WriteEndObject();

        w.WriteStartArray("tensors");
        foreach (var tensor in plan.Tensors)
        {
            WriteTensor(w, tensor);
        }

        w.WriteEndArray();

        w.WriteStartArray("dropped");
        foreach (var item in plan.Dropped)
        {
            w.WriteStartObject();
            w.WriteString("kind", NameOf(DroppedKinds, item.Kind));
            w.WriteString("name", item.Name);
            w.WriteNumber("elements", item.Elements);
            w.WriteStartArray("parameters");
            foreach (var lost in item.Parameters)
            {
                w.WriteStartObject();
                w.WriteString("parameter", lost.Parameter);
                w.WriteNumber("elements", lost.Elements);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();

        w.WriteStartArray("notes");
        foreach (var note in plan.Notes)
        {
            w.WriteStringValue(note);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteVersion(Utf8JsonWriter w, string name, ModelVersion version)
    {
        w.WriteStartObject(name);
        w.WriteString("model", version.Model);
        w.WriteNumber("version", version.Version);
        if (version.Fingerprint is { } fingerprint)
        {
            w.WriteString("fingerprint", fingerprint);
        }

        w.WriteEndObject();
    }

    private static void WriteTensor(Utf8JsonWriter w, TensorPlan t)
    {
        w.WriteStartObject();
        w.WriteString("name", t.Name);
        w.WriteRawProperty("shape", Numbers(t.Shape));
        w.WriteString("dtype", t.DType);
        w.WriteBoolean("buffer", t.IsBuffer);
        if (t.Source is null)
        {
            w.WriteNull("source");
        }
        else
        {
            w.WriteString("source", t.Source);
        }

        w.WriteRawProperty("sourceShape", Numbers(t.SourceShape));
        w.WriteStartArray("axes");
        foreach (var axis in t.Axes)
        {
            w.WriteStartObject();
            w.WriteString("role", NameOf(AxisRoles, axis.Role));
            w.WriteNumber("length", axis.Length);
            w.WriteNumber("sourceLength", axis.SourceLength);
            w.WriteRawProperty("unmapped", RuleText(axis.Unmapped));
            w.WriteRawProperty("segments", "[" + string.Join(", ", axis.Segments.Select(s => Numbers([s.Start, s.Length, s.SourceStart]))) + "]");
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteRawProperty("initOrder", Numbers(t.InitOrder.Select(a => (long)a)));
        w.WriteRawProperty("init", RuleText(t.Init));
        if (t.Add.Count > 0)
        {
            // Written only when present, so plans without additions keep their bytes.
            w.WriteRawProperty("add", "[" + string.Join(", ", t.Add.Select(JsonDocumentIO.DoubleText)) + "]");
        }

        w.WriteNumber("copied", t.CopiedElements);
        w.WriteNumber("total", t.TotalElements);
        w.WriteEndObject();
    }

    /// <summary>An init rule on one line: <c>{"kind": "uniform", "value": 0.5}</c>, no value for zeros and ones.</summary>
    private static string RuleText(InitRule rule)
    {
        var kind = "{\"kind\": \"" + NameOf(InitKinds, rule.Kind) + "\"";
        return HasValue(rule.Kind) ? kind + ", \"value\": " + JsonDocumentIO.DoubleText(rule.Value) + "}" : kind + "}";
    }

    private static bool HasValue(InitKind kind) => kind is InitKind.Constant or InitKind.Uniform or InitKind.Normal;

    private static string Numbers(IEnumerable<long> values) => "[" + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]";

    private static string NameOf<T>((T Value, string Name)[] names, T value)
        where T : struct, Enum
    {
        foreach (var (v, n) in names)
        {
            if (EqualityComparer<T>.Default.Equals(v, value))
            {
                return n;
            }
        }

        throw new ArgumentException($"{typeof(T).Name} value {value} has no JSON name", nameof(value));
    }

    // ---------------------------------------------------------------- reading

    private static SurgeryPlan ReadPlan(JsonElement rootElement, string? file)
    {
        var root = JsonDocumentIO.OpenRoot(rootElement, file, FormatName, FormatVersion, TopLevelProperties);
        var from = ReadVersion(root.Object("from"));
        var to = ReadVersion(root.Object("to"));
        var options = ReadOptions(root.Object("options"));

        var totalsObject = root.Object("totals");
        totalsObject.Allow("copied", "target", "source", "shareOfTarget", "shareOfSource");
        var totals = new PlanTotals(totalsObject.Int64("copied"), totalsObject.Int64("target"), totalsObject.Int64("source"));
        var shareOfTarget = totalsObject.Double("shareOfTarget");
        var shareOfSource = totalsObject.Double("shareOfSource");

        var tensors = new List<TensorPlan>();
        var counts = new List<(long Copied, long Total)>();
        foreach (var (element, path) in root.Array("tensors"))
        {
            var (tensor, copied, total) = ReadTensor(JsonObjectReader.Open(element, path, file));
            tensors.Add(tensor);
            counts.Add((copied, total));
        }

        var dropped = new List<DroppedItem>();
        var droppedElements = new List<long>();
        foreach (var (element, path) in root.Array("dropped"))
        {
            var o = JsonObjectReader.Open(element, path, file);
            o.Allow("kind", "name", "elements", "parameters");
            var kind = ReadChoice(o, "kind", DroppedKinds, "dropped kind");
            var name = o.String("name");
            droppedElements.Add(o.Int64("elements"));
            var parameters = new List<LostElements>();
            foreach (var (lostElement, lostPath) in o.Array("parameters"))
            {
                var lost = JsonObjectReader.Open(lostElement, lostPath, file);
                lost.Allow("parameter", "elements");
                parameters.Add(new LostElements(lost.String("parameter"), lost.Int64("elements")));
            }

            dropped.Add(new DroppedItem(kind, name, parameters.ToEquatableArray()));
        }

        var notes = root.Array("notes").Select(n => JsonObjectReader.ReadString(n.Element, n.Path, file)).ToEquatableArray();
        var plan = new SurgeryPlan(from, to, options, tensors.ToEquatableArray(), totals, dropped.ToEquatableArray(), notes);

        if (Check(plan) is { } problem)
        {
            throw JsonObjectReader.Fail(file, problem.Path, problem.Detail);
        }

        // Derived fields: only meaningful once the plan is consistent.
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            var at = "$.tensors[" + N(i) + "]";
            if (counts[i].Total != t.TotalElements)
            {
                throw JsonObjectReader.Fail(file, at + ".total", $"tensor '{t.Name}': total is {N(counts[i].Total)} but its shape {Numbers(t.Shape)} has {N(t.TotalElements)} elements");
            }

            if (counts[i].Copied != t.CopiedElements)
            {
                throw JsonObjectReader.Fail(file, at + ".copied", $"tensor '{t.Name}': copied is {N(counts[i].Copied)} but its axes map {N(t.CopiedElements)} elements ({(t.Source is null ? "it has no source" : string.Join(" x ", t.Axes.Select(a => N(a.MappedCount))))})");
            }
        }

        for (var i = 0; i < dropped.Count; i++)
        {
            if (droppedElements[i] != dropped[i].Elements)
            {
                throw JsonObjectReader.Fail(file, "$.dropped[" + N(i) + "].elements", $"dropped {NameOf(DroppedKinds, dropped[i].Kind)} '{dropped[i].Name}': elements is {N(droppedElements[i])} but its parameters lose {N(dropped[i].Elements)}");
            }
        }

        CheckShare(file, "$.totals.shareOfTarget", shareOfTarget, totals.ShareOfTarget, "copied / target");
        CheckShare(file, "$.totals.shareOfSource", shareOfSource, totals.ShareOfSource, "copied / source");
        return plan;
    }

    private static void CheckShare(string? file, string path, double written, double computed, string what)
    {
        if (Math.Abs(written - computed) > ShareTolerance * Math.Max(1, Math.Abs(computed)))
        {
            throw JsonObjectReader.Fail(file, path, $"share is {JsonDocumentIO.DoubleText(written)} but {what} is {JsonDocumentIO.DoubleText(computed)}");
        }
    }

    private static ModelVersion ReadVersion(JsonObjectReader o)
    {
        o.Allow("model", "version", "fingerprint");
        string? fingerprint = null;
        if (o.Has("fingerprint"))
        {
            fingerprint = o.String("fingerprint");
            if (!ModelSnapshot.IsFingerprint(fingerprint))
            {
                throw JsonObjectReader.Fail(o.File, o.PathOf("fingerprint"), $"'{fingerprint}' is not a graph fingerprint; expected 64 lowercase hex digits (a SHA-256)");
            }
        }

        return new ModelVersion(o.String("model"), o.Int32("version"), fingerprint);
    }

    private static PlanOptions ReadOptions(JsonObjectReader o)
    {
        o.Allow("newOutputBias", "moduleRenames", "unitMaps");
        var bias = o.Double("newOutputBias");
        var renames = new List<ModuleRename>();
        foreach (var (element, path) in o.Array("moduleRenames"))
        {
            var r = JsonObjectReader.Open(element, path, o.File);
            r.Allow("from", "to");
            renames.Add(new ModuleRename(r.String("from"), r.String("to")));
        }

        var maps = new List<UnitMap>();
        foreach (var (element, path) in o.Array("unitMaps"))
        {
            var m = JsonObjectReader.Open(element, path, o.File);
            m.Allow("space", "sources");
            var space = m.String("space");
            var sources = m.Array("sources").Select(s => JsonObjectReader.ReadInt64(s.Element, s.Path, o.File)).ToEquatableArray();
            maps.Add(new UnitMap(space, sources));
        }

        return new PlanOptions { NewOutputBias = bias, ModuleRenames = renames.ToEquatableArray(), UnitMaps = maps.ToEquatableArray() };
    }

    private static (TensorPlan Tensor, long Copied, long Total) ReadTensor(JsonObjectReader o)
    {
        var name = o.String("name");
        try
        {
            o.Allow(TensorProperties);
            var shape = ReadLongs(o, "shape");
            var dtype = o.String("dtype");
            var buffer = o.Boolean("buffer");
            var source = o.NullableString("source");
            var sourceShape = ReadLongs(o, "sourceShape");
            var axes = new List<AxisMap>();
            foreach (var (element, path) in o.Array("axes"))
            {
                var a = JsonObjectReader.Open(element, path, o.File);
                a.Allow(AxisProperties);
                var role = ReadChoice(a, "role", AxisRoles, "axis role");
                var length = a.Int64("length");
                var sourceLength = a.Int64("sourceLength");
                var unmapped = ReadRule(a.Object("unmapped"));
                var segments = new List<AxisSegment>();
                foreach (var (segment, segmentPath) in a.Array("segments"))
                {
                    var parts = JsonObjectReader.ReadArray(segment, segmentPath, o.File);
                    if (parts.Count != 3)
                    {
                        throw JsonObjectReader.Fail(o.File, segmentPath, $"expected a segment [start, length, sourceStart], found an array of {N(parts.Count)} items");
                    }

                    segments.Add(new AxisSegment(
                        JsonObjectReader.ReadInt64(parts[0].Element, parts[0].Path, o.File),
                        JsonObjectReader.ReadInt64(parts[1].Element, parts[1].Path, o.File),
                        JsonObjectReader.ReadInt64(parts[2].Element, parts[2].Path, o.File)));
                }

                axes.Add(new AxisMap(role, length, sourceLength, segments.ToEquatableArray(), unmapped));
            }

            var initOrder = o.Array("initOrder").Select(e => JsonObjectReader.ReadInt32(e.Element, e.Path, o.File)).ToEquatableArray();
            var init = ReadRule(o.Object("init"));
            var add = o.Has("add") ? o.Array("add").Select(e => JsonObjectReader.ReadDouble(e.Element, e.Path, o.File)).ToEquatableArray() : EquatableArray<double>.Empty;
            var elements = shape.Aggregate(1L, (x, y) => x * y);
            if (o.Has("add") && add.Count != elements)
            {
                throw JsonObjectReader.Fail(o.File, o.PathOf("add"), $"expected {N(elements)} values (one per element of shape [{string.Join(", ", shape)}]), found {N(add.Count)}");
            }

            var copied = o.Int64("copied");
            var total = o.Int64("total");
            return (new TensorPlan(name, shape, dtype, buffer, source, sourceShape, axes.ToEquatableArray(), initOrder, init) { Add = add }, copied, total);
        }
        catch (JsonFormatException e) when (e.JsonPath is not null && e.Detail is not null)
        {
            throw new JsonFormatException(e.FilePath, e.JsonPath, null, null, $"tensor '{name}': {e.Detail}", e);
        }
    }

    private static InitRule ReadRule(JsonObjectReader o)
    {
        var kind = ReadChoice(o, "kind", InitKinds, "init kind");
        if (!HasValue(kind))
        {
            o.Allow("kind");
            return new InitRule(kind);
        }

        o.Allow("kind", "value");
        return new InitRule(kind, o.Double("value"));
    }

    private static EquatableArray<long> ReadLongs(JsonObjectReader o, string name) =>
        o.Array(name).Select(e => JsonObjectReader.ReadInt64(e.Element, e.Path, o.File)).ToEquatableArray();

    private static T ReadChoice<T>(JsonObjectReader o, string name, (T Value, string Name)[] names, string what)
        where T : struct, Enum =>
        names[JsonObjectReader.ReadChoice(o.Required(name), o.PathOf(name), o.File, names.Select(n => n.Name).ToList(), what)].Value;

    // ---------------------------------------------------------------- consistency

    /// <summary>
    /// The first inconsistency of <paramref name="plan"/>, located by the JSON path its element has in the
    /// written file, or null. Write refuses what Read would reject; derived fields that the records do not
    /// hold (a tensor's written counts, the shares) are checked by Read alone.
    /// </summary>
    private static (string Path, string Detail)? Check(SurgeryPlan plan)
    {
        if (plan.From is null || plan.To is null || plan.Options is null || plan.Totals is null)
        {
            return ("$", "from, to, options and totals are required");
        }

        if (plan.From.Model is null || plan.To.Model is null)
        {
            return (plan.From.Model is null ? "$.from.model" : "$.to.model", "expected a model name");
        }

        if (!IsFinite(plan.Options.NewOutputBias))
        {
            return ("$.options.newOutputBias", $"expected a finite number, found {JsonDocumentIO.DoubleText(plan.Options.NewOutputBias)}");
        }

        var renameTargets = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < plan.Options.ModuleRenames.Count; i++)
        {
            var r = plan.Options.ModuleRenames[i];
            var at = "$.options.moduleRenames[" + N(i) + "]";
            if (r is null || r.From is null || r.To is null)
            {
                return (at, "expected a rename with 'from' and 'to'");
            }

            if (!renameTargets.Add(r.To))
            {
                return (at + ".to", $"module '{r.To}' is the target of more than one rename; expected at most one");
            }
        }

        for (var i = 0; i < plan.Options.UnitMaps.Count; i++)
        {
            var m = plan.Options.UnitMaps[i];
            var at = "$.options.unitMaps[" + N(i) + "]";
            if (m is null || m.Space is null)
            {
                return (at, "expected a unit map with 'space' and 'sources'");
            }

            var seen = new HashSet<long>();
            for (var j = 0; j < m.Sources.Count; j++)
            {
                var s = m.Sources[j];
                if (s < -1)
                {
                    return (at + ".sources[" + N(j) + "]", $"unit map '{m.Space}' has source {N(s)}; expected an old unit index or -1");
                }

                if (s >= 0 && !seen.Add(s))
                {
                    return (at + ".sources[" + N(j) + "]", $"unit map '{m.Space}' takes old unit {N(s)} twice; expected each old unit at most once");
                }
            }
        }

        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var sources = new Dictionary<string, (int Tensor, EquatableArray<long> Shape)>(StringComparer.Ordinal);
        long copied = 0, target = 0, sourceElements = 0;
        for (var i = 0; i < plan.Tensors.Count; i++)
        {
            var t = plan.Tensors[i];
            var at = "$.tensors[" + N(i) + "]";
            if (t is null || t.Name is null)
            {
                return (at, "expected a tensor with a name");
            }

            if (CheckTensor(t, at) is { } problem)
            {
                return (problem.Path, $"tensor '{t.Name}': {problem.Detail}");
            }

            if (names.TryGetValue(t.Name, out var first))
            {
                return (at + ".name", $"tensor '{t.Name}' is listed twice (first as tensor {N(first)}); expected one entry per target tensor");
            }

            names.Add(t.Name, i);
            if (t.Source is not null)
            {
                if (sources.TryGetValue(t.Source, out var other))
                {
                    if (other.Shape != t.SourceShape)
                    {
                        return (at + ".sourceShape", $"tensor '{t.Name}': source '{t.Source}' has shape {Numbers(t.SourceShape)} here but {Numbers(other.Shape)} in tensor '{plan.Tensors[other.Tensor].Name}'");
                    }
                }
                else
                {
                    sources.Add(t.Source, (i, t.SourceShape));
                    if (!t.IsBuffer && !TryAdd(ref sourceElements, Product(t.SourceShape)))
                    {
                        return ("$.totals.source", "the source tensors have more than 2^63 elements");
                    }
                }
            }

            if (!t.IsBuffer && !(TryAdd(ref copied, t.CopiedElements) && TryAdd(ref target, t.TotalElements)))
            {
                return ("$.totals.target", "the target tensors have more than 2^63 elements");
            }
        }

        if (plan.Totals.CopiedElements != copied)
        {
            return ("$.totals.copied", $"copied is {N(plan.Totals.CopiedElements)} but the non-buffer tensors copy {N(copied)} elements");
        }

        if (plan.Totals.TargetElements != target)
        {
            return ("$.totals.target", $"target is {N(plan.Totals.TargetElements)} but the non-buffer tensors have {N(target)} elements");
        }

        if (plan.Totals.SourceElements < sourceElements)
        {
            return ("$.totals.source", $"source is {N(plan.Totals.SourceElements)} but the non-buffer tensors copy from source tensors with {N(sourceElements)} elements; expected at least that many");
        }

        for (var i = 0; i < plan.Dropped.Count; i++)
        {
            var d = plan.Dropped[i];
            var at = "$.dropped[" + N(i) + "]";
            if (d is null || d.Name is null)
            {
                return (at, "expected a dropped item with a name");
            }

            if (!DroppedKinds.Any(k => k.Value == d.Kind))
            {
                return (at + ".kind", $"dropped item '{d.Name}' has kind {d.Kind}, which has no JSON name");
            }

            long sum = 0;
            for (var j = 0; j < d.Parameters.Count; j++)
            {
                var lost = d.Parameters[j];
                if (lost is null || lost.Parameter is null)
                {
                    return (at + ".parameters[" + N(j) + "]", $"dropped {NameOf(DroppedKinds, d.Kind)} '{d.Name}': expected a parameter name");
                }

                if (lost.Elements < 0 || !TryAdd(ref sum, lost.Elements))
                {
                    return (at + ".parameters[" + N(j) + "].elements", $"dropped {NameOf(DroppedKinds, d.Kind)} '{d.Name}': parameter '{lost.Parameter}' loses {N(lost.Elements)} elements; expected a count from 0 to 2^63 - 1 in all");
                }
            }
        }

        for (var i = 0; i < plan.Notes.Count; i++)
        {
            if (plan.Notes[i] is null)
            {
                return ("$.notes[" + N(i) + "]", "expected a string");
            }
        }

        return null;
    }

    private static (string Path, string Detail)? CheckTensor(TensorPlan t, string at)
    {
        if (t.DType is null)
        {
            return (at + ".dtype", "expected a dtype");
        }

        var rank = t.Shape.Count;
        for (var a = 0; a < rank; a++)
        {
            if (t.Shape[a] < 0)
            {
                return (at + ".shape[" + N(a) + "]", $"dimension {N(t.Shape[a])}; expected a non-negative size");
            }
        }

        if (Product(t.Shape) < 0)
        {
            return (at + ".shape", $"shape {Numbers(t.Shape)} has more than 2^63 elements");
        }

        if (t.Source is null)
        {
            if (t.SourceShape.Count != 0)
            {
                return (at + ".sourceShape", $"has no source, so expected an empty source shape, found {Numbers(t.SourceShape)}");
            }
        }
        else if (t.SourceShape.Count != rank)
        {
            return (at + ".sourceShape", $"source shape {Numbers(t.SourceShape)} has rank {N(t.SourceShape.Count)} but shape {Numbers(t.Shape)} has rank {N(rank)}; expected equal ranks");
        }
        else
        {
            for (var a = 0; a < rank; a++)
            {
                if (t.SourceShape[a] < 0)
                {
                    return (at + ".sourceShape[" + N(a) + "]", $"dimension {N(t.SourceShape[a])}; expected a non-negative size");
                }
            }

            if (Product(t.SourceShape) < 0)
            {
                return (at + ".sourceShape", $"source shape {Numbers(t.SourceShape)} has more than 2^63 elements");
            }
        }

        if (t.Axes.Count != rank)
        {
            return (at + ".axes", $"{N(t.Axes.Count)} axes for shape {Numbers(t.Shape)}; expected one per dimension ({N(rank)})");
        }

        for (var a = 0; a < rank; a++)
        {
            if (CheckAxis(t, a, at + ".axes[" + N(a) + "]") is { } problem)
            {
                return problem;
            }
        }

        if (t.InitOrder.Count != rank || t.InitOrder.Any(x => x < 0 || x >= rank) || t.InitOrder.Distinct().Count() != rank)
        {
            return (at + ".initOrder", $"[{string.Join(", ", t.InitOrder.Select(x => N(x)))}] is not a permutation of the axes 0..{N(rank - 1)}");
        }

        return CheckRule(t.Init, at + ".init");
    }

    private static (string Path, string Detail)? CheckAxis(TensorPlan t, int a, string at)
    {
        var axis = t.Axes[a];
        if (axis is null || axis.Unmapped is null)
        {
            return (at, "expected an axis map with an init rule");
        }

        if (!AxisRoles.Any(r => r.Value == axis.Role))
        {
            return (at + ".role", $"axis role {axis.Role} has no JSON name");
        }

        if (axis.Length != t.Shape[a])
        {
            return (at + ".length", $"axis {N(a)} has length {N(axis.Length)} but the shape {Numbers(t.Shape)} gives {N(t.Shape[a])}");
        }

        var sourceLength = t.Source is null ? 0 : t.SourceShape[a];
        if (axis.SourceLength != sourceLength)
        {
            return (at + ".sourceLength", t.Source is null
                ? $"axis {N(a)} has source length {N(axis.SourceLength)} but the tensor has no source; expected 0"
                : $"axis {N(a)} has source length {N(axis.SourceLength)} but the source shape {Numbers(t.SourceShape)} gives {N(sourceLength)}");
        }

        if (CheckRule(axis.Unmapped, at + ".unmapped") is { } problem)
        {
            return problem;
        }

        long next = 0;
        for (var s = 0; s < axis.Segments.Count; s++)
        {
            var segment = axis.Segments[s];
            var path = at + ".segments[" + N(s) + "]";
            if (segment is null)
            {
                return (path, "expected a segment [start, length, sourceStart]");
            }

            var text = Numbers([segment.Start, segment.Length, segment.SourceStart]);
            if (segment.Start != next)
            {
                return (path, $"segment {text} of axis {N(a)} starts at {N(segment.Start)}; expected {N(next)}, so that the segments tile the axis [0, {N(axis.Length)}) in order without gaps or overlaps");
            }

            if (segment.Length <= 0 || segment.Length > axis.Length - segment.Start)
            {
                return (path, segment.Length <= 0
                    ? $"segment {text} of axis {N(a)} has length {N(segment.Length)}; expected at least 1"
                    : $"segment {text} of axis {N(a)} ends at {Sum(segment.Start, segment.Length)}, past the axis length {N(axis.Length)}");
            }

            if (segment.SourceStart < -1 || (t.Source is null && segment.SourceStart != -1))
            {
                return (path, t.Source is null
                    ? $"segment {text} of axis {N(a)} copies from source index {N(segment.SourceStart)} but the tensor has no source; expected -1"
                    : $"segment {text} of axis {N(a)} has source start {N(segment.SourceStart)}; expected a source index or -1");
            }

            if (segment.SourceStart >= 0 && segment.Length > axis.SourceLength - segment.SourceStart)
            {
                return (path, $"segment {text} of axis {N(a)} copies source indices [{N(segment.SourceStart)}, {Sum(segment.SourceStart, segment.Length)}), outside the source axis of length {N(axis.SourceLength)}");
            }

            next = segment.Start + segment.Length;
        }

        if (next != axis.Length)
        {
            return (at + ".segments", $"the segments of axis {N(a)} cover [0, {N(next)}); expected them to tile the whole axis [0, {N(axis.Length)})");
        }

        return null;
    }

    private static (string Path, string Detail)? CheckRule(InitRule rule, string at)
    {
        if (rule is null)
        {
            return (at, "expected an init rule");
        }

        if (!InitKinds.Any(k => k.Value == rule.Kind))
        {
            return (at + ".kind", $"init kind {rule.Kind} has no JSON name");
        }

        if (!HasValue(rule.Kind))
        {
            // Written without a value; a stray one would not survive the round trip.
            return rule.Value == 0 ? null : (at, $"init rule '{NameOf(InitKinds, rule.Kind)}' carries the value {JsonDocumentIO.DoubleText(rule.Value)}; expected none (0)");
        }

        if (!IsFinite(rule.Value))
        {
            return (at + ".value", $"expected a finite number, found {JsonDocumentIO.DoubleText(rule.Value)}");
        }

        if (rule.Kind != InitKind.Constant && rule.Value < 0)
        {
            return (at + ".value", $"{NameOf(InitKinds, rule.Kind)} {(rule.Kind == InitKind.Uniform ? "bound" : "standard deviation")} is {JsonDocumentIO.DoubleText(rule.Value)}; expected a non-negative number");
        }

        return null;
    }

    private static bool IsFinite(double value) => !double.IsNaN(value) && !double.IsInfinity(value);

    /// <summary>Product of the dimensions, or -1 when it overflows.</summary>
    private static long Product(EquatableArray<long> dims)
    {
        long product = 1;
        foreach (var d in dims)
        {
            if (d != 0 && product > long.MaxValue / d)
            {
                // A zero later on would make it 0, but such a shape still has no meaningful element count.
                return -1;
            }

            product *= d;
        }

        return product;
    }

    private static bool TryAdd(ref long sum, long value)
    {
        if (value < 0 || sum > long.MaxValue - value)
        {
            return false;
        }

        sum += value;
        return true;
    }

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>a + b as text, without overflow (for messages about out-of-range segments).</summary>
    private static string Sum(long a, long b) => ((decimal)a + b).ToString(CultureInfo.InvariantCulture);
}
