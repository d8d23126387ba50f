using System.Buffers.Binary;

namespace Omnivec.Text;

/// <summary>
/// A minimal protobuf wire-format reader over a span, for SentencePiece model files (ModelProto): fields in order,
/// varints, length-delimited bytes, 32-bit floats; a truncated or malformed file is a <see cref="ModelConfigurationException"/>.
/// </summary>
internal ref struct ProtoReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;

    /// <summary>Where the next field starts.</summary>
    public readonly int Position => _pos;

    public bool Next(out int field, out int wire)
    {
        if (_pos >= _data.Length)
        {
            field = wire = 0;
            return false;
        }

        ulong tag = Varint();
        field = (int)(tag >> 3);
        wire = (int)(tag & 7);
        return true;
    }

    public ulong Varint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= _data.Length)
            {
                throw new ModelConfigurationException("the SentencePiece model is truncated");
            }

            byte b = _data[_pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw new ModelConfigurationException("the SentencePiece model has a malformed number");
    }

    public ReadOnlySpan<byte> Bytes()
    {
        int length = checked((int)Varint());
        if (length < 0 || _pos + length > _data.Length)
        {
            throw new ModelConfigurationException("the SentencePiece model is truncated");
        }

        ReadOnlySpan<byte> slice = _data.Slice(_pos, length);
        _pos += length;
        return slice;
    }

    public float Float()
    {
        if (_pos + 4 > _data.Length)
        {
            throw new ModelConfigurationException("the SentencePiece model is truncated");
        }

        float value = BinaryPrimitives.ReadSingleLittleEndian(_data.Slice(_pos, 4));
        _pos += 4;
        return value;
    }

    public void Skip(int wire)
    {
        switch (wire)
        {
            case 0: Varint(); break;
            case 1: _pos += 8; break;
            case 2: Bytes(); break;
            case 5: _pos += 4; break;
            default: throw new ModelConfigurationException($"the SentencePiece model has an unknown field type {wire}");
        }

        if (_pos > _data.Length)
        {
            throw new ModelConfigurationException("the SentencePiece model is truncated");
        }
    }
}
