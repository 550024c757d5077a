package dev.captionfn.model;

/**
 * ONNX Runtime session settings from configuration.
 *
 * @param intraOpThreads threads inside one operator; 0 lets ONNX Runtime choose (one per core)
 * @param interOpThreads threads across independent operators; 0 lets ONNX Runtime choose
 */
public record SessionSettings(int intraOpThreads, int interOpThreads) {
    public SessionSettings {
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException("thread counts cannot be negative");
        }
    }

    public static SessionSettings defaults() {
        return new SessionSettings(0, 0);
    }
}
