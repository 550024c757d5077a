package dev.captionfn.deploy;

import static dev.captionfn.deploy.Manifests.text;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;

/** One YAML document of one file under deploy/. */
record Manifest(Path file, int document, JsonNode node) {
    String type() {
        return text(node, "apiVersion") + "/" + text(node, "kind");
    }

    String name() {
        return text(node.path("metadata"), "name");
    }

    String namespace() {
        return text(node.path("metadata"), "namespace");
    }

    /** The identity kubectl apply goes by. */
    String key() {
        return type() + " " + namespace() + "/" + name();
    }

    @Override
    public String toString() {
        return file + " #" + document + " (" + text(node, "kind") + " " + name() + ")";
    }
}
