package dev.captionfn.model;

/** ONNX Runtime failed while running a graph on a request (not at load). */
public class ModelRunException extends RuntimeException {
    public ModelRunException(String message, Throwable cause) {
        super(message, cause);
    }
}
