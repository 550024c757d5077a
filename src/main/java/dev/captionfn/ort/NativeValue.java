package dev.captionfn.ort;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An OrtValue owned here and released by {@link #close}: a tensor over host memory
 * ({@link HostTensors}) or an output of a bound run ({@link IoBinding#run}), which may live in the
 * execution provider's device memory.
 */
public final class NativeValue implements AutoCloseable {
    /** ONNXTensorElementDataType as the C API numbers the types made here. */
    static final int FLOAT = 1;
    static final int INT64 = 7;
    static final int FLOAT16 = 10;

    private static final AtomicLong OPEN = new AtomicLong();

    private final OrtCApi api;
    private MemorySegment handle;

    NativeValue(OrtCApi api, MemorySegment handle) {
        this.api = api;
        this.handle = handle;
        OPEN.incrementAndGet();
    }

    /** OrtValues made here and not yet released, in this process: what a leak check counts. */
    public static long open() {
        return OPEN.get();
    }

    MemorySegment handle() {
        if (handle == null) {
            throw new IllegalStateException("this OrtValue was released");
        }
        return handle;
    }

    /** The tensor's dimensions. */
    public long[] shape() {
        try (Arena arena = Arena.ofConfined()) {
            return shape(arena);
        }
    }

    private long[] shape(Arena arena) {
        try {
            MemorySegment out = arena.allocate(ADDRESS);
            api.check((MemorySegment) api.getTensorTypeAndShape.invokeExact(handle(), out), "GetTensorTypeAndShape");
            MemorySegment info = out.get(ADDRESS, 0);
            try {
                MemorySegment count = arena.allocate(JAVA_LONG);
                api.check((MemorySegment) api.getDimensionsCount.invokeExact(info, count), "GetDimensionsCount");
                int rank = Math.toIntExact(count.get(JAVA_LONG, 0));
                MemorySegment dims = arena.allocate(JAVA_LONG, Math.max(rank, 1));
                api.check((MemorySegment) api.getDimensions.invokeExact(info, dims, (long) rank), "GetDimensions");
                return dims.asSlice(0, rank * JAVA_LONG.byteSize()).toArray(JAVA_LONG);
            } finally {
                api.releaseTensorTypeAndShapeInfo.invokeExact(info);
            }
        } catch (Throwable t) {
            throw OrtCallException.of("reading a tensor's shape", t);
        }
    }

    /**
     * The last position of every row of a float32 tensor [rows, positions, width] in host memory,
     * row-major ([rows, width]): a decoder's logits, whichever contract returned them. A tensor on
     * a device must have been bound to the CPU instead.
     */
    public float[] lastPositions() {
        try (Arena arena = Arena.ofConfined()) {
            long[] shape = shape(arena);
            if (shape.length != 3) {
                throw new OrtCallException("expected a [rows, positions, width] tensor, not " + java.util.Arrays.toString(shape));
            }
            int rows = Math.toIntExact(shape[0]);
            long positions = shape[1];
            int width = Math.toIntExact(shape[2]);
            MemorySegment out = arena.allocate(ADDRESS);
            api.check((MemorySegment) api.getTensorMutableData.invokeExact(handle(), out), "GetTensorMutableData");
            MemorySegment data = out.get(ADDRESS, 0).reinterpret(rows * positions * width * JAVA_FLOAT.byteSize());
            float[] last = new float[rows * width];
            for (int r = 0; r < rows; r++) {
                long from = (r * positions + positions - 1) * width * JAVA_FLOAT.byteSize();
                MemorySegment.copy(data, JAVA_FLOAT, from, last, r * width, width);
            }
            return last;
        } catch (Throwable t) {
            throw OrtCallException.of("reading a tensor's data", t);
        }
    }

    /** Every element of a float32 tensor in host memory. */
    public float[] floats() {
        try (Arena arena = Arena.ofConfined()) {
            long count = 1;
            for (long d : shape(arena)) {
                count *= d;
            }
            MemorySegment out = arena.allocate(ADDRESS);
            api.check((MemorySegment) api.getTensorMutableData.invokeExact(handle(), out), "GetTensorMutableData");
            return out.get(ADDRESS, 0).reinterpret(count * JAVA_FLOAT.byteSize()).toArray(JAVA_FLOAT);
        } catch (Throwable t) {
            throw OrtCallException.of("reading a tensor's data", t);
        }
    }

    @Override
    public void close() {
        if (handle != null) {
            MemorySegment h = handle;
            handle = null;
            OPEN.decrementAndGet();
            try {
                api.releaseValue.invokeExact(h);
            } catch (Throwable t) {
                throw OrtCallException.of("ReleaseValue", t);
            }
        }
    }
}
