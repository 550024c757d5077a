package dev.captionfn.ort;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import java.util.EnumSet;

/** The providers compiled into the ONNX Runtime library on the class path, asked once. */
final class OrtProviders {
    private static volatile EnumSet<OrtProvider> available;

    private OrtProviders() {}

    static EnumSet<OrtProvider> available() {
        EnumSet<OrtProvider> known = available;
        if (known == null) {
            known = OrtEnvironment.getAvailableProviders();
            available = known;
        }
        return known;
    }
}
