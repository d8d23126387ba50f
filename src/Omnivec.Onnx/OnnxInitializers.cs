namespace Omnivec.Onnx;

/// <summary>
/// Reads named scalar float initializers (weights) out of an ONNX file without loading the graph: a forward-only walk
/// over the protobuf that seeks past nodes and large tensors, so a 800 MB combined graph costs a few reads.
/// </summary>
internal static class OnnxInitializers
{
    private const int ModelGraph = 7;        // ModelProto.graph
    private const int GraphInitializer = 5;  // GraphProto.initializer
    private const int TensorDims = 1, TensorDataType = 2, TensorFloatData = 4, TensorName = 8, TensorRawData = 9;
    private const int TensorExternalData = 13, TensorDataLocation = 14; // StringStringEntryProto list; 1 = EXTERNAL
    private const int FloatType = 1;         // TensorProto.DataType.FLOAT

    /// <summary>The values of the scalar (one-element) float initializers among <paramref name="names"/> found in <paramref name="path"/>.</summary>
    /// <exception cref="ModelConfigurationException">The file is not a readable ONNX model.</exception>
    public static Dictionary<string, float> ReadScalars(string path, IReadOnlyCollection<string> names)
    {
        var found = new Dictionary<string, float>(StringComparer.Ordinal);
        Walk(path, tensor =>
        {
            if (tensor is { Name: { } name, DataType: FloatType, Elements: 1, Scalar: float value } && names.Contains(name))
            {
                found[name] = value;
            }
        });
        return found;
    }

    /// <summary>Calls <paramref name="visit"/> for every initializer of the graph in <paramref name="path"/>.</summary>
    public static void Walk(string path, Action<TensorInfo> visit)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var reader = new ProtoReader(stream);
            long end = stream.Length;
            while (reader.Position < end)
            {
                (int field, int wire) = reader.ReadTag();
                if (field == ModelGraph && wire == 2)
                {
                    long graphEnd = reader.ReadLength(end);
                    graphEnd += reader.Position;
                    ReadGraph(reader, graphEnd, visit);
                    reader.Seek(graphEnd);
                }
                else
                {
                    reader.Skip(wire, end);
                }
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException or IOException)
        {
            throw new ModelConfigurationException($"{path}: cannot read the ONNX model's weights: {ex.Message}", ex);
        }
    }

    private static void ReadGraph(ProtoReader reader, long end, Action<TensorInfo> visit)
    {
        while (reader.Position < end)
        {
            (int field, int wire) = reader.ReadTag();
            if (field == GraphInitializer && wire == 2)
            {
                long tensorEnd = reader.ReadLength(end);
                tensorEnd += reader.Position;
                visit(ReadTensor(reader, tensorEnd));

                reader.Seek(tensorEnd);
            }
            else
            {
                reader.Skip(wire, end);
            }
        }
    }

    private static TensorInfo ReadTensor(ProtoReader reader, long end)
    {
        string? name = null;
        int dataType = 0;
        long elements = 1;
        float? value = null;
        bool external = false;
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Position < end)
        {
            (int field, int wire) = reader.ReadTag();
            switch (field, wire)
            {
                case (TensorDims, 0):
                    elements *= reader.ReadVarint();
                    break;
                case (TensorDims, 2):
                    long dimsEnd = reader.ReadLength(end);
                    dimsEnd += reader.Position;
                    while (reader.Position < dimsEnd)
                    {
                        elements *= reader.ReadVarint();
                    }

                    break;
                case (TensorDataType, 0):
                    dataType = (int)reader.ReadVarint();
                    break;
                case (TensorName, 2):
                    long nameLength = reader.ReadLength(end);
                    if (nameLength > 4096)
                    {
                        reader.Seek(reader.Position + nameLength);
                        break;
                    }

                    name = System.Text.Encoding.UTF8.GetString(reader.ReadBytes((int)nameLength));
                    break;
                case (TensorDataLocation, 0):
                    external = reader.ReadVarint() == 1;
                    break;
                case (TensorExternalData, 2):
                    long entryEnd = reader.ReadLength(end);
                    entryEnd += reader.Position;
                    string? key = null, entryValue = null;
                    while (reader.Position < entryEnd)
                    {
                        (int f, int w) = reader.ReadTag();
                        if (w == 2 && f is 1 or 2)
                        {
                            long n = reader.ReadLength(entryEnd);
                            string text = n <= 4096 ? System.Text.Encoding.UTF8.GetString(reader.ReadBytes((int)n)) : "";
                            if (n > 4096)
                            {
                                reader.Seek(reader.Position + n);
                            }

                            if (f == 1)
                            {
                                key = text;
                            }
                            else
                            {
                                entryValue = text;
                            }
                        }
                        else
                        {
                            reader.Skip(w, entryEnd);
                        }
                    }

                    if (key is not null && entryValue is not null)
                    {
                        entries[key] = entryValue;
                    }

                    break;
                case (TensorFloatData or TensorRawData, 2):
                    long length = reader.ReadLength(end);
                    if (length == 4)
                    {
                        value = BitConverter.ToSingle(reader.ReadBytes(4));
                    }
                    else
                    {
                        reader.Seek(reader.Position + Math.Min(length, end - reader.Position));
                    }

                    break;
                case (TensorFloatData, 5):
                    value = BitConverter.ToSingle(reader.ReadBytes(4));
                    break;
                default:
                    reader.Skip(wire, end);
                    break;
            }
        }

        return new TensorInfo(name, dataType, elements, value, external ? entries : null);
    }

    /// <summary>One initializer: name, ONNX data type, element count, its value when it is a single inline float, and its external-data entries (location, offset, length) when stored outside the graph.</summary>
    internal sealed record TensorInfo(string? Name, int DataType, long Elements, float? Scalar, IReadOnlyDictionary<string, string>? External);

    private sealed class ProtoReader(Stream stream)
    {
        public long Position => stream.Position;

        public void Seek(long position) => stream.Position = position;

        public (int Field, int Wire) ReadTag()
        {
            ulong tag = ReadVarintRaw();
            return ((int)(tag >> 3), (int)(tag & 7));
        }

        public long ReadVarint() => (long)ReadVarintRaw();

        public long ReadLength(long limit)
        {
            long length = (long)ReadVarintRaw();
            if (length < 0 || Position + length > limit)
            {
                throw new InvalidDataException("a field runs past the end of its message");
            }

            return length;
        }

        public byte[] ReadBytes(int count)
        {
            byte[] buffer = new byte[count];
            stream.ReadExactly(buffer);
            return buffer;
        }

        public void Skip(int wire, long limit)
        {
            switch (wire)
            {
                case 0: ReadVarintRaw(); break;
                case 1: Seek(Position + 8); break;
                case 2:
                    long length = ReadLength(limit);
                    Seek(Position + length);
                    break;
                case 5: Seek(Position + 4); break;
                default: throw new InvalidDataException($"unexpected protobuf wire type {wire}");
            }

            if (Position > limit)
            {
                throw new InvalidDataException("a field runs past the end of its message");
            }
        }

        private ulong ReadVarintRaw()
        {
            ulong result = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                int b = stream.ReadByte();
                if (b < 0)
                {
                    throw new EndOfStreamException("the file ends inside a field");
                }

                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return result;
                }
            }

            throw new InvalidDataException("malformed varint");
        }
    }
}

/// <summary>
/// Checks an ONNX graph's external-data files (model.onnx_data, or one file per tensor: graphs over 2 GB keep their
/// weights beside them) before ONNX Runtime is asked to load it, so a missing or cut-short download gets a clear error.
/// </summary>
internal static class OnnxExternalData
{
    /// <exception cref="ModelConfigurationException">A file the graph names is missing, outside the model's folder, or shorter than the graph says.</exception>
    public static void Check(string modelPath)
    {
        if (!File.Exists(modelPath))
        {
            return; // the loader reports the missing graph itself
        }

        string folder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            Walk(modelPath, folder, sizes);
        }
        catch (ModelConfigurationException ex) when (ex.InnerException is EndOfStreamException or InvalidDataException)
        {
            // Not a readable ONNX file at all: ONNX Runtime's own load error says so.
        }
    }

    private static void Walk(string modelPath, string folder, Dictionary<string, long> sizes)
    {
        OnnxInitializers.Walk(modelPath, tensor =>
        {
            if (tensor.External is not { } entries)
            {
                return;
            }

            string what = $"{modelPath}: weight '{tensor.Name}'";
            if (!entries.TryGetValue("location", out string? location) || location.Length == 0)
            {
                throw new ModelConfigurationException($"{what} is stored outside the graph but names no file.");
            }

            string full = Path.GetFullPath(Path.Combine(folder, location));
            if (Path.IsPathRooted(location) || !full.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new ModelConfigurationException($"{what} points outside the model's folder ('{location}').");
            }

            if (!sizes.TryGetValue(full, out long size))
            {
                if (!File.Exists(full))
                {
                    throw new ModelConfigurationException(
                        $"{what} is stored in '{location}', which is missing: download the model again (the graph's external data comes with it).");
                }

                size = new FileInfo(full).Length;
                sizes[full] = size;
            }

            long offset = entries.TryGetValue("offset", out string? o) && long.TryParse(o, System.Globalization.CultureInfo.InvariantCulture, out long off) ? off : 0;
            long length = entries.TryGetValue("length", out string? l) && long.TryParse(l, System.Globalization.CultureInfo.InvariantCulture, out long len) ? len : size - offset;
            if (offset < 0 || length < 0 || offset + length > size)
            {
                throw new ModelConfigurationException(
                    $"{what} needs bytes {offset}..{offset + length} of '{location}', which has {size}: the file is truncated or corrupt; download the model again.");
            }
        });
    }
}
