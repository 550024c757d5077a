package dev.captionfn.model;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * A running batch's line back to its callers. A withdrawn request (its caller gave up, or its
 * deadline passed) leaves the decoder batch at the next step; once every request of the batch is
 * withdrawn, the ONNX Runtime run in progress is told to stop ({@code RunOptions} terminate), which
 * matters when one run — a 7B prefill on CPU — takes seconds. Withdrawal may come from any thread.
 */
public final class BatchControl implements AutoCloseable {
    private final AtomicIntegerArray withdrawn;
    private final AtomicInteger remaining;
    private final OrtSession.RunOptions runOptions;
    private boolean closed;

    public BatchControl(int requests) {
        this.withdrawn = new AtomicIntegerArray(requests);
        this.remaining = new AtomicInteger(requests);
        try {
            this.runOptions = new OrtSession.RunOptions();
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime cannot create run options: " + e.getMessage(), e);
        }
    }

    public void withdraw(int request) {
        if (withdrawn.compareAndSet(request, 0, 1) && remaining.decrementAndGet() == 0) {
            terminate();
        }
    }

    private synchronized void terminate() {
        if (closed) {
            return;
        }
        try {
            runOptions.setTerminate(true);
        } catch (OrtException e) {
            // the run then simply goes on to its end; its result is dropped
        }
    }

    public boolean isWithdrawn(int request) {
        return withdrawn.get(request) == 1;
    }

    /** No caller waits for this batch any more. */
    public boolean allWithdrawn() {
        return remaining.get() == 0;
    }

    OrtSession.RunOptions runOptions() {
        return runOptions;
    }

    @Override
    public synchronized void close() {
        closed = true;
        runOptions.close();
    }
}
