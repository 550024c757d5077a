package dev.captionfn.testing;

import static dev.captionfn.testing.DockerContext.trimSlash;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/** What pom.xml says, for the tests that check deploy files against the build: properties, profiles, their build directories and dependencies. */
public record PomFile(Element project) {
    private static final Path POM = Path.of("pom.xml");

    public static PomFile read() {
        try {
            var factory = DocumentBuilderFactory.newInstance();
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            Document document = factory.newDocumentBuilder().parse(POM.toFile());
            return new PomFile(document.getDocumentElement());
        } catch (Exception e) {
            throw new IllegalStateException(POM + " cannot be read", e);
        }
    }

    public String artifactId() {
        return childText(project, "artifactId");
    }

    public String version() {
        return childText(project, "version");
    }

    public String property(String name) {
        String value = childText(child(project, "properties"), name);
        assertNotNull(value, POM + ": no property " + name);
        return value;
    }

    /** The lambda profile's &lt;build&gt;&lt;directory&gt;, relative to the project root. */
    public String lambdaBuildDirectory() {
        String directory = childText(child(profile("lambda"), "build"), "directory");
        assertNotNull(directory, POM + ": the lambda profile sets no <build><directory>; the Dockerfile expects its own");
        String relative = directory.replace("${project.basedir}/", "").replace("${basedir}/", "");
        return trimSlash(Path.of(relative).normalize().toString());
    }

    /** The resource directories of the build with this profile: the project's, then the profile's. */
    public List<String> resourceDirectories(String id) {
        List<String> dirs = new ArrayList<>();
        for (Element build : new Element[] {child(project, "build"), child(profile(id), "build")}) {
            for (Element resource : children(child(build, "resources"), "resource")) {
                if (childText(resource, "targetPath") == null) { // elsewhere on the class path: not configuration
                    dirs.add(childText(resource, "directory").replace("${project.basedir}/", "").replace("${basedir}/", ""));
                }
            }
        }
        if (dirs.isEmpty()) {
            dirs.add("src/main/resources"); // Maven's default
        }
        return dirs;
    }

    public Set<String> profileDependencies(String id) {
        Set<String> dependencies = new TreeSet<>();
        Element list = child(profile(id), "dependencies");
        for (Element dependency : children(list, "dependency")) {
            dependencies.add(childText(dependency, "groupId") + ":" + childText(dependency, "artifactId"));
        }
        return dependencies;
    }

    private Element profile(String id) {
        for (Element profile : children(child(project, "profiles"), "profile")) {
            if (id.equals(childText(profile, "id"))) {
                return profile;
            }
        }
        throw new AssertionError(POM + ": no profile " + id);
    }

    private static Element child(Element parent, String name) {
        List<Element> found = children(parent, name);
        return found.isEmpty() ? null : found.get(0);
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> found = new ArrayList<>();
        if (parent == null) {
            return found;
        }
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            Node node = nodes.item(i);
            if (node instanceof Element e && e.getTagName().equals(name)) {
                found.add(e);
            }
        }
        return found;
    }

    private static String childText(Element parent, String name) {
        Element child = child(parent, name);
        return child == null ? null : child.getTextContent().trim();
    }
}
