package dev.captionfn.ort;

/** A call into ONNX Runtime's C API ({@link OrtCApi}) failed, with ONNX Runtime's own message. */
public final class OrtCallException extends RuntimeException {
    OrtCallException(String message) {
        super(message);
    }

    OrtCallException(String message, Throwable cause) {
        super(message, cause);
    }

    static OrtCallException of(String call, Throwable t) {
        if (t instanceof OrtCallException e) {
            return e;
        }
        return new OrtCallException(call + " failed: " + t, t);
    }
}
