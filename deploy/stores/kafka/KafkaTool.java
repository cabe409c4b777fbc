// The two Apache Kafka tools compose calls, through the admin client of the broker's own
// kafka-clients jar (the Maven artifacts carry no tools jar):
//   kafka-broker-api-versions --bootstrap-server HOSTS      exit 0 once a broker answers
//   kafka-topics --bootstrap-server=HOSTS --create [--if-not-exists] --topic=T
//       --partitions=N --replication-factor=R [--config=KEY=VALUE ...]
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

public final class KafkaTool {
    public static void main(String[] argv) throws Exception {
        Map<String, List<String>> opts = options(argv);
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, one(opts, "bootstrap-server"));
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        try (Admin admin = Admin.create(props)) {
            if (argv[0].equals("kafka-topics")) {
                create(admin, opts);
            } else {
                admin.describeCluster().nodes().get(15, TimeUnit.SECONDS);
            }
        }
    }

    private static void create(Admin admin, Map<String, List<String>> opts) throws Exception {
        Map<String, String> configs = new HashMap<>();
        for (String pair : opts.getOrDefault("config", List.of())) {
            String[] kv = pair.split("=", 2);
            configs.put(kv[0], kv[1]);
        }
        NewTopic topic = new NewTopic(one(opts, "topic"),
                Integer.parseInt(one(opts, "partitions")),
                Short.parseShort(one(opts, "replication-factor"))).configs(configs);
        try {
            admin.createTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            System.out.println("Created topic " + topic.name() + ".");
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException) || !opts.containsKey("if-not-exists")) {
                throw e;
            }
        }
    }

    private static String one(Map<String, List<String>> opts, String name) {
        List<String> values = opts.get(name);
        if (values == null || values.isEmpty()) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return values.get(0);
    }

    /** --name=value, --name value and bare --flag, in any order. */
    private static Map<String, List<String>> options(String[] argv) {
        Map<String, List<String>> opts = new HashMap<>();
        for (int i = 1; i < argv.length; i++) {
            String arg = argv[i].substring(2);
            String value = "";
            if (arg.contains("=")) {
                value = arg.substring(arg.indexOf('=') + 1);
                arg = arg.substring(0, arg.indexOf('='));
            } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
                value = argv[++i];
            }
            opts.computeIfAbsent(arg, k -> new ArrayList<>()).add(value);
        }
        return opts;
    }
}
