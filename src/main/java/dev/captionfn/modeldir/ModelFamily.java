package dev.captionfn.modeldir;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/** The model families whose graphs follow the model-directory contract. */
public enum ModelFamily {
    /** InstructBLIP: the Q-Former reads the instruction as well as the image. */
    INSTRUCTBLIP("instructblip", true),
    /** BLIP-2: the Q-Former reads the image only; qformer_input_ids is absent from the vision graph. */
    BLIP2("blip2", false);

    private final String id;
    private final boolean qformerReadsInstruction;

    ModelFamily(String id, boolean qformerReadsInstruction) {
        this.id = id;
        this.qformerReadsInstruction = qformerReadsInstruction;
    }

    public String id() {
        return id;
    }

    public boolean qformerReadsInstruction() {
        return qformerReadsInstruction;
    }

    public static Optional<ModelFamily> byId(String id) {
        return Arrays.stream(values()).filter(f -> f.id.equals(id)).findFirst();
    }

    public static String known() {
        return Arrays.stream(values()).map(ModelFamily::id).collect(Collectors.joining(", "));
    }
}
