package dev.captionfn.ort;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * ONNX Runtime's I/O binding for one session (OrtIoBinding), which the Java API lacks: inputs are
 * bound as OrtValues wherever they live, outputs to a memory of choice, so that a decoder's
 * presents stay in the execution provider's memory (a CUDA device's for the CUDA and TensorRT
 * providers) and go back as the next step's pasts without a copy, while the logits come to the
 * host. On the CPU provider the device is the host, and the same calls run.
 */
public final class IoBinding implements AutoCloseable {
    /** The memory names ONNX Runtime gives the CPU and CUDA allocators (OrtMemoryInfo). */
    static final String CPU_MEMORY = "Cpu";
    static final String CUDA_MEMORY = "Cuda";

    private final OrtCApi api;
    private final MemorySegment session;
    private final MemorySegment binding;
    private final MemorySegment cpu;
    private final MemorySegment device;
    private final String deviceName;
    private final Arena names = Arena.ofShared();
    private final Map<String, MemorySegment> cNames = new HashMap<>();
    /** GetBoundOutputValues' two out-parameters, kept for the binding's life rather than made per run. */
    private final MemorySegment outputArray = names.allocate(ADDRESS);
    private final MemorySegment outputCount = names.allocate(JAVA_LONG);
    private static final AtomicLong OPEN = new AtomicLong();

    private int boundOutputs;
    private boolean closed;

    private IoBinding(OrtCApi api, MemorySegment session, MemorySegment binding, MemorySegment cpu, MemorySegment device,
            String deviceName) {
        this.api = api;
        this.session = session;
        this.binding = binding;
        this.cpu = cpu;
        this.device = device;
        this.deviceName = deviceName;
        OPEN.incrementAndGet();
    }

    /** Bindings made and not yet closed, in this process: what a leak check counts. */
    public static long open() {
        return OPEN.get();
    }

    /**
     * A binding for a session that runs on {@code provider}: its "device" outputs go to the CUDA
     * device {@code cudaDeviceId} for CUDA and TensorRT, to the host for the CPU provider.
     */
    public static IoBinding of(OrtSession session, ExecutionProvider provider, int cudaDeviceId) {
        OrtCApi api = OrtCApi.load();
        MemorySegment cpu = api.cpuMemoryInfo();
        MemorySegment device = cpu;
        MemorySegment handle = null;
        try (Arena arena = Arena.ofConfined()) {
            String deviceName = memoryName(provider);
            if (!deviceName.equals(CPU_MEMORY)) {
                MemorySegment out = arena.allocate(ADDRESS);
                api.check((MemorySegment) api.createMemoryInfo.invokeExact(arena.allocateFrom(deviceName), OrtCApi.ARENA_ALLOCATOR,
                        cudaDeviceId, OrtCApi.MEM_TYPE_DEFAULT, out), "CreateMemoryInfo");
                device = out.get(ADDRESS, 0);
            }
            MemorySegment sessionHandle = OrtCApi.handleOf(session);
            MemorySegment out = arena.allocate(ADDRESS);
            api.check((MemorySegment) api.createIoBinding.invokeExact(sessionHandle, out), "CreateIoBinding");
            handle = out.get(ADDRESS, 0);
            return new IoBinding(api, sessionHandle, handle, cpu, device, deviceName);
        } catch (Throwable t) {
            release(api, cpu, device, handle);
            throw OrtCallException.of("creating an I/O binding", t);
        }
    }

    /** The memory a provider's outputs live in: the CUDA device for CUDA and TensorRT, else the host. */
    static String memoryName(ExecutionProvider provider) {
        return switch (provider) {
            case CUDA, TENSORRT -> CUDA_MEMORY;
            case CPU -> CPU_MEMORY;
        };
    }

    /** Where outputs bound with {@link #bindOutputToDevice} live: "Cpu" or "Cuda". */
    public String deviceMemory() {
        return deviceName;
    }

    /** Memory for one step's host inputs; close it after the run that reads them and {@link #clearInputs}. */
    public HostTensors hostTensors() {
        return new HostTensors(api, cpu);
    }

    public void bindInput(String name, NativeValue value) {
        bind(name, value.handle());
    }

    /** Binds a tensor of the Java API (an embed graph's output, say) without copying it. */
    public void bindInput(String name, OnnxTensor tensor) {
        bind(name, OrtCApi.handleOf(tensor));
    }

    private void bind(String name, MemorySegment value) {
        try {
            api.check((MemorySegment) api.bindInput.invokeExact(binding, cName(name), value), "BindInput '" + name + "'");
        } catch (Throwable t) {
            throw OrtCallException.of("BindInput '" + name + "'", t);
        }
    }

    /** The output is allocated by the run in the provider's memory ({@link #deviceMemory}). */
    public void bindOutputToDevice(String name) {
        bindOutput(name, device);
    }

    /** The output is copied to the host by the run (logits the search reads). */
    public void bindOutputToCpu(String name) {
        bindOutput(name, cpu);
    }

    private void bindOutput(String name, MemorySegment memory) {
        try {
            api.check((MemorySegment) api.bindOutputToDevice.invokeExact(binding, cName(name), memory),
                    "BindOutputToDevice '" + name + "'");
            boundOutputs++;
        } catch (Throwable t) {
            throw OrtCallException.of("BindOutputToDevice '" + name + "'", t);
        }
    }

    /**
     * Runs the session on the bound inputs and returns the outputs in the order they were bound,
     * each owned by the caller. {@code options} carries the batch's terminate flag.
     */
    public List<NativeValue> run(OrtSession.RunOptions options) {
        try {
            api.check((MemorySegment) api.runWithBinding.invokeExact(session, OrtCApi.handleOf(options), binding), "RunWithBinding");
            api.check((MemorySegment) api.getBoundOutputValues.invokeExact(binding, api.defaultAllocator, outputArray, outputCount),
                    "GetBoundOutputValues");
            int n = Math.toIntExact(outputCount.get(JAVA_LONG, 0));
            MemorySegment values = outputArray.get(ADDRESS, 0).reinterpret(n * ADDRESS.byteSize());
            List<NativeValue> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(new NativeValue(api, values.getAtIndex(ADDRESS, i)));
            }
            // the array is ONNX Runtime's, the values in it now ours
            api.check((MemorySegment) api.allocatorFree.invokeExact(api.defaultAllocator, values), "AllocatorFree");
            if (n != boundOutputs) {
                out.forEach(NativeValue::close);
                throw new OrtCallException("the bound run gave " + n + " outputs for " + boundOutputs + " bound");
            }
            return out;
        } catch (Throwable t) {
            throw OrtCallException.of("RunWithBinding", t);
        }
    }

    /** Drops the binding's references to its inputs (and so to their memory). */
    public void clearInputs() {
        try {
            api.clearBoundInputs.invokeExact(binding);
        } catch (Throwable t) {
            throw OrtCallException.of("ClearBoundInputs", t);
        }
    }

    /** Drops the bound outputs: the next run allocates new ones rather than writing into the last. */
    public void clearOutputs() {
        try {
            api.clearBoundOutputs.invokeExact(binding);
            boundOutputs = 0;
        } catch (Throwable t) {
            throw OrtCallException.of("ClearBoundOutputs", t);
        }
    }

    private MemorySegment cName(String name) {
        return cNames.computeIfAbsent(name, names::allocateFrom);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        OPEN.decrementAndGet();
        try {
            release(api, cpu, device, binding);
        } finally {
            names.close();
        }
    }

    private static void release(OrtCApi api, MemorySegment cpu, MemorySegment device, MemorySegment binding) {
        try {
            if (binding != null) {
                api.releaseIoBinding.invokeExact(binding);
            }
            if (device != cpu) {
                api.releaseMemoryInfo.invokeExact(device);
            }
            api.releaseMemoryInfo.invokeExact(cpu);
        } catch (Throwable t) {
            throw OrtCallException.of("releasing an I/O binding", t);
        }
    }
}
