package io.onnxslanc.io;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import io.onnxslanc.Progress;
import io.onnxslanc.ir.Tensor;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.List;

/**
 * A part of a protobuf file whose encoded size is known before it is written, so that a model can be written
 * front to back with its length prefixes computed rather than buffered: a message already in memory (graph
 * structure, small tensors), a length-delimited field made of other pieces (a graph, a node, a tensor), or the
 * raw_data of a tensor, streamed from its file or its conversion in chunks. The concatenation of a message's
 * fields in field-number order is exactly protobuf's own encoding, so a model written in pieces is byte for byte
 * the one {@code message.writeTo} would give (except in the weights-first layout, {@link ProtoEncoder.WeightsFirst}).
 */
interface ProtoPiece {
    /** Encoded size in bytes. */
    long size();

    void writeTo(Sink out) throws IOException;

    /** The file being written: protobuf framing through {@link #coded}, bulk tensor bytes straight to {@link #channel}. */
    final class Sink {
        final FileChannel channel;
        final CodedOutputStream coded;
        final Progress progress;

        Sink(FileChannel channel, Progress progress) {
            this.channel = channel;
            this.coded = CodedOutputStream.newInstance(java.nio.channels.Channels.newOutputStream(channel), 1 << 16);
            this.progress = progress;
        }
    }

    /** A message (or a run of fields of one) held in memory; protobuf streams it through its 64 KiB buffer. */
    static ProtoPiece message(Message m) {
        return new ProtoPiece() {
            @Override
            public long size() {
                return m.getSerializedSize();
            }

            @Override
            public void writeTo(Sink out) throws IOException {
                m.writeTo(out.coded);
            }
        };
    }

    /** Field {@code number}, length-delimited, holding {@code parts} in order. */
    static ProtoPiece field(int number, List<ProtoPiece> parts) {
        long body = 0;
        for (ProtoPiece p : parts) {
            body += p.size();
        }
        return lengthDelimited(number, body, out -> {
            for (ProtoPiece p : parts) {
                p.writeTo(out);
            }
        });
    }

    /**
     * The bytes field {@code number} (TensorProto.raw_data) holding {@code tensor}'s little-endian bytes, copied by
     * {@link Tensor#writeTo} straight into the file: a mapped or converted source never passes through the heap whole.
     */
    static ProtoPiece tensorBytes(int number, Tensor tensor) {
        long length = tensor.byteSize();
        return lengthDelimited(number, length, out -> {
            out.coded.flush();
            long start = out.channel.position();
            tensor.writeTo(out.channel);
            long written = out.channel.position() - start;
            if (written != length) { // the framing already promised `length` bytes: a short tensor corrupts the file
                throw new IOException("a tensor of " + length + " bytes wrote " + written);
            }
            out.progress.advance(length);
        });
    }

    /** Bytes of a {@link #paddedLength}. */
    int PADDED_LENGTH_BYTES = 5;

    /**
     * The tag of length-delimited field {@code number} and {@code length} as a five-byte varint (continuation bits
     * on the first four bytes even where fewer would do: parsers read it like the shortest form), so that the
     * length can be written after the body: {@link #paddedLength}.
     */
    static ProtoPiece paddedLengthTag(int number, long length) {
        if (length < 0 || length >= 1L << 35) {
            throw new IllegalArgumentException("length " + length + " does not fit in " + PADDED_LENGTH_BYTES + " bytes");
        }
        return new ProtoPiece() {
            @Override
            public long size() {
                return CodedOutputStream.computeTagSize(number) + PADDED_LENGTH_BYTES;
            }

            @Override
            public void writeTo(Sink out) throws IOException {
                out.coded.writeTag(number, com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED);
                out.coded.writeRawBytes(paddedLength(length));
            }
        };
    }

    /** {@code length} as a varint of exactly {@link #PADDED_LENGTH_BYTES} bytes. */
    static byte[] paddedLength(long length) {
        byte[] b = new byte[PADDED_LENGTH_BYTES];
        for (int i = 0; i < PADDED_LENGTH_BYTES; i++) {
            b[i] = (byte) (((length >>> (7 * i)) & 0x7F) | (i < PADDED_LENGTH_BYTES - 1 ? 0x80 : 0));
        }
        return b;
    }

    /** The fields of {@code m} numbered below {@code limit} (unknown fields are left to {@link #fieldsFrom}). */
    @SuppressWarnings("unchecked")
    static <M extends Message> M fieldsBelow(M m, int limit) {
        Message.Builder b = m.toBuilder();
        for (FieldDescriptor f : m.getDescriptorForType().getFields()) {
            if (f.getNumber() >= limit) {
                b.clearField(f);
            }
        }
        b.setUnknownFields(UnknownFieldSet.getDefaultInstance());
        return (M) b.build();
    }

    /** The fields of {@code m} numbered {@code limit} or above, and its unknown fields (protobuf writes those last). */
    @SuppressWarnings("unchecked")
    static <M extends Message> M fieldsFrom(M m, int limit) {
        Message.Builder b = m.toBuilder();
        for (FieldDescriptor f : m.getDescriptorForType().getFields()) {
            if (f.getNumber() < limit) {
                b.clearField(f);
            }
        }
        return (M) b.build();
    }

    /** What follows a length-delimited field's tag and length. */
    interface Body {
        void writeTo(Sink out) throws IOException;
    }

    /** Field {@code number}, length-delimited: tag, {@code length}, then {@code body} (which writes that many bytes). */
    private static ProtoPiece lengthDelimited(int number, long length, Body body) {
        long total = CodedOutputStream.computeTagSize(number) + CodedOutputStream.computeUInt64SizeNoTag(length) + length;
        return new ProtoPiece() {
            @Override
            public long size() {
                return total;
            }

            @Override
            public void writeTo(Sink out) throws IOException {
                out.coded.writeTag(number, com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED);
                out.coded.writeUInt64NoTag(length);
                body.writeTo(out);
            }
        };
    }
}
