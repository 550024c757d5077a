package dev.captionfn.ort;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.reflect.Field;

/**
 * The few functions of ONNX Runtime's C API that its Java API lacks (I/O binding, onnxruntime#26209),
 * reached with the FFM API through the very library the ONNX Runtime jar loaded: the jar's own
 * {@code OrtApi} table, whose address it keeps in {@code OnnxRuntime.ortApiHandle}. Sessions, tensors
 * and run options come from the jar too, so their native handles are read from its private fields.
 *
 * <p>Written by hand because no library offers it: the jar has no I/O binding, and a jextract
 * binding of the whole header would be thousands of lines for the two dozen functions used here.
 * {@code OrtApi} is a struct of function pointers that ONNX Runtime only ever appends to, so each
 * function sits at a fixed index for every later version; {@link #load} checks a few of them by
 * calling them before anything relies on the table.
 */
final class OrtCApi {
    // indices in struct OrtApi (include/onnxruntime/core/session/onnxruntime_c_api.h)
    private static final int CREATE_STATUS = 0;
    private static final int GET_ERROR_MESSAGE = 2;
    private static final int CREATE_TENSOR_WITH_DATA_AS_ORT_VALUE = 49;
    private static final int GET_TENSOR_MUTABLE_DATA = 51;
    private static final int GET_DIMENSIONS_COUNT = 61;
    private static final int GET_DIMENSIONS = 62;
    private static final int GET_TENSOR_TYPE_AND_SHAPE = 65;
    private static final int CREATE_MEMORY_INFO = 68;
    private static final int CREATE_CPU_MEMORY_INFO = 69;
    private static final int MEMORY_INFO_GET_NAME = 71;
    private static final int ALLOCATOR_FREE = 76;
    private static final int GET_ALLOCATOR_WITH_DEFAULT_OPTIONS = 78;
    private static final int RELEASE_STATUS = 93;
    private static final int RELEASE_MEMORY_INFO = 94;
    private static final int RELEASE_VALUE = 96;
    private static final int RELEASE_TENSOR_TYPE_AND_SHAPE_INFO = 99;
    private static final int RUN_WITH_BINDING = 133;
    private static final int CREATE_IO_BINDING = 134;
    private static final int RELEASE_IO_BINDING = 135;
    private static final int BIND_INPUT = 136;
    private static final int BIND_OUTPUT_TO_DEVICE = 138;
    private static final int GET_BOUND_OUTPUT_VALUES = 140;
    private static final int CLEAR_BOUND_INPUTS = 141;
    private static final int CLEAR_BOUND_OUTPUTS = 142;
    private static final int SLOTS = 143;

    /** OrtAllocatorType and OrtMemType as the C API numbers them. */
    static final int ARENA_ALLOCATOR = 1;
    static final int MEM_TYPE_DEFAULT = 0;

    private static volatile OrtCApi instance;

    final MethodHandle createStatus;
    final MethodHandle getErrorMessage;
    final MethodHandle createTensorWithData;
    final MethodHandle getTensorMutableData;
    final MethodHandle getDimensionsCount;
    final MethodHandle getDimensions;
    final MethodHandle getTensorTypeAndShape;
    final MethodHandle createMemoryInfo;
    final MethodHandle createCpuMemoryInfo;
    final MethodHandle memoryInfoGetName;
    final MethodHandle allocatorFree;
    final MethodHandle releaseStatus;
    final MethodHandle releaseMemoryInfo;
    final MethodHandle releaseValue;
    final MethodHandle releaseTensorTypeAndShapeInfo;
    final MethodHandle runWithBinding;
    final MethodHandle createIoBinding;
    final MethodHandle releaseIoBinding;
    final MethodHandle bindInput;
    final MethodHandle bindOutputToDevice;
    final MethodHandle getBoundOutputValues;
    final MethodHandle clearBoundInputs;
    final MethodHandle clearBoundOutputs;
    /** ONNX Runtime's default CPU allocator, which GetBoundOutputValues allocates its array with. */
    final MemorySegment defaultAllocator;

    private OrtCApi(MemorySegment api) {
        Linker linker = Linker.nativeLinker();
        FunctionDescriptor statusOf1 = FunctionDescriptor.of(ADDRESS, ADDRESS);
        FunctionDescriptor statusOf2 = FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS);
        FunctionDescriptor statusOf3 = FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        FunctionDescriptor release = FunctionDescriptor.ofVoid(ADDRESS);
        createStatus = handle(linker, api, CREATE_STATUS, FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS));
        getErrorMessage = handle(linker, api, GET_ERROR_MESSAGE, FunctionDescriptor.of(ADDRESS, ADDRESS));
        createTensorWithData = handle(linker, api, CREATE_TENSOR_WITH_DATA_AS_ORT_VALUE,
                FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS));
        getTensorMutableData = handle(linker, api, GET_TENSOR_MUTABLE_DATA, statusOf2);
        getDimensionsCount = handle(linker, api, GET_DIMENSIONS_COUNT, statusOf2);
        getDimensions = handle(linker, api, GET_DIMENSIONS, FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
        getTensorTypeAndShape = handle(linker, api, GET_TENSOR_TYPE_AND_SHAPE, statusOf2);
        createMemoryInfo = handle(linker, api, CREATE_MEMORY_INFO,
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        createCpuMemoryInfo = handle(linker, api, CREATE_CPU_MEMORY_INFO, FunctionDescriptor.of(ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
        memoryInfoGetName = handle(linker, api, MEMORY_INFO_GET_NAME, statusOf2);
        allocatorFree = handle(linker, api, ALLOCATOR_FREE, statusOf2);
        releaseStatus = handle(linker, api, RELEASE_STATUS, release);
        releaseMemoryInfo = handle(linker, api, RELEASE_MEMORY_INFO, release);
        releaseValue = handle(linker, api, RELEASE_VALUE, release);
        releaseTensorTypeAndShapeInfo = handle(linker, api, RELEASE_TENSOR_TYPE_AND_SHAPE_INFO, release);
        runWithBinding = handle(linker, api, RUN_WITH_BINDING, statusOf3);
        createIoBinding = handle(linker, api, CREATE_IO_BINDING, statusOf2);
        releaseIoBinding = handle(linker, api, RELEASE_IO_BINDING, release);
        bindInput = handle(linker, api, BIND_INPUT, statusOf3);
        bindOutputToDevice = handle(linker, api, BIND_OUTPUT_TO_DEVICE, statusOf3);
        getBoundOutputValues = handle(linker, api, GET_BOUND_OUTPUT_VALUES,
                FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        clearBoundInputs = handle(linker, api, CLEAR_BOUND_INPUTS, release);
        clearBoundOutputs = handle(linker, api, CLEAR_BOUND_OUTPUTS, release);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check((MemorySegment) handle(linker, api, GET_ALLOCATOR_WITH_DEFAULT_OPTIONS, statusOf1).invokeExact(out),
                    "GetAllocatorWithDefaultOptions");
            defaultAllocator = out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw OrtCallException.of("GetAllocatorWithDefaultOptions", t);
        }
    }

    private static MethodHandle handle(Linker linker, MemorySegment api, int index, FunctionDescriptor descriptor) {
        MemorySegment function = api.getAtIndex(ADDRESS, index);
        if (function.equals(MemorySegment.NULL)) {
            throw new OrtCallException("ONNX Runtime's C API has no function at index " + index);
        }
        return linker.downcallHandle(function, descriptor);
    }

    /** The C API of the ONNX Runtime the jar loaded, checked once. */
    static OrtCApi load() {
        OrtCApi api = instance;
        if (api == null) {
            synchronized (OrtCApi.class) {
                api = instance;
                if (api == null) {
                    api = new OrtCApi(table());
                    api.selfCheck();
                    instance = api;
                }
            }
        }
        return api;
    }

    private static MemorySegment table() {
        OrtEnvironment.getEnvironment(); // makes the jar load its library and fetch the API table
        long address;
        try {
            Field field = Class.forName("ai.onnxruntime.OnnxRuntime").getDeclaredField("ortApiHandle");
            field.setAccessible(true);
            address = field.getLong(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new OrtCallException("this ONNX Runtime jar does not expose its C API table (OnnxRuntime.ortApiHandle): "
                    + e + "; set captionfn.model.io-binding=false", e);
        }
        if (address == 0) {
            throw new OrtCallException("the ONNX Runtime jar has not loaded its C API table");
        }
        return MemorySegment.ofAddress(address).reinterpret((long) SLOTS * ADDRESS.byteSize());
    }

    /**
     * Calls functions whose results are known (a status carries back its message, the CPU memory
     * info is named "Cpu"), so that a table laid out otherwise than these indices fails here, with a
     * message, rather than later in a decoder step.
     */
    private void selfCheck() {
        try (Arena arena = Arena.ofConfined()) {
            String probe = "captionfn checks the OrtApi table";
            MemorySegment status = (MemorySegment) createStatus.invokeExact(2, arena.allocateFrom(probe));
            String back = message(status);
            releaseStatus.invokeExact(status);
            MemorySegment cpu = cpuMemoryInfo();
            MemorySegment name = arena.allocate(ADDRESS);
            try {
                check((MemorySegment) memoryInfoGetName.invokeExact(cpu, name), "MemoryInfoGetName");
                String cpuName = name.get(ADDRESS, 0).reinterpret(Long.MAX_VALUE).getString(0);
                if (!probe.equals(back) || !"Cpu".equals(cpuName)) {
                    throw new OrtCallException("ONNX Runtime's C API table is not laid out as captionfn expects (status message '"
                            + back + "', CPU memory '" + cpuName + "'); set captionfn.model.io-binding=false");
                }
            } finally {
                releaseMemoryInfo.invokeExact(cpu);
            }
        } catch (OrtCallException e) {
            throw e;
        } catch (Throwable t) {
            throw OrtCallException.of("checking ONNX Runtime's C API table", t);
        }
    }

    /** Where CPU tensors live (OrtArenaAllocator, OrtMemTypeDefault); the caller releases it. */
    MemorySegment cpuMemoryInfo() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check((MemorySegment) createCpuMemoryInfo.invokeExact(ARENA_ALLOCATOR, MEM_TYPE_DEFAULT, out), "CreateCpuMemoryInfo");
            return out.get(ADDRESS, 0);
        } catch (OrtCallException e) {
            throw e;
        } catch (Throwable t) {
            throw OrtCallException.of("CreateCpuMemoryInfo", t);
        }
    }

    /** Throws with ONNX Runtime's message when a call returned a status (NULL means success). */
    void check(MemorySegment status, String call) {
        if (status.equals(MemorySegment.NULL)) {
            return;
        }
        String message = message(status);
        try {
            releaseStatus.invokeExact(status);
        } catch (Throwable t) {
            throw OrtCallException.of(call, t);
        }
        throw new OrtCallException(call + " failed: " + message);
    }

    private String message(MemorySegment status) {
        try {
            return ((MemorySegment) getErrorMessage.invokeExact(status)).reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw OrtCallException.of("GetErrorMessage", t);
        }
    }

    // the jar's private fields that hold its native handles, looked up once: a step reads two
    private static final Field SESSION_HANDLE = field(OrtSession.class, "nativeHandle");
    private static final Field RUN_OPTIONS_HANDLE = field(OrtSession.RunOptions.class, "nativeHandle");
    private static final Field TENSOR_HANDLE = field(OnnxTensorLike.class, "nativeHandle");

    static MemorySegment handleOf(OrtSession session) {
        return MemorySegment.ofAddress(read(SESSION_HANDLE, session));
    }

    static MemorySegment handleOf(OrtSession.RunOptions options) {
        return MemorySegment.ofAddress(read(RUN_OPTIONS_HANDLE, options));
    }

    static MemorySegment handleOf(OnnxTensor tensor) {
        return MemorySegment.ofAddress(read(TENSOR_HANDLE, tensor));
    }

    /** Null where this jar has no such field: then the first use says so. */
    private static Field field(Class<?> owner, String name) {
        try {
            Field field = owner.getDeclaredField(name);
            field.setAccessible(true);
            return field;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static long read(Field field, Object of) {
        if (field == null) {
            throw new OrtCallException("this ONNX Runtime jar keeps no native handle where captionfn reads it (nativeHandle of "
                    + of.getClass().getName() + "); set captionfn.model.io-binding=false");
        }
        try {
            return field.getLong(of);
        } catch (IllegalAccessException e) {
            throw new OrtCallException("cannot read the native handle of " + of.getClass().getName() + ": " + e, e);
        }
    }
}
