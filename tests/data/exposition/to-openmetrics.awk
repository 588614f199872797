# Rewrites a Prometheus text 0.0.4 page (as client_golang writes it) into OpenMetrics
# 1.0 text the way client_golang's OpenMetrics encoder would: counter families lose
# their `_total` suffix on HELP/TYPE and every counter sample gets it, `untyped`
# becomes `unknown`, `"` in HELP is escaped, and the page ends with `# EOF`.
# usage: awk -f to-openmetrics.awk node_exporter.prom > node_exporter.om.txt
/^# HELP / {
    help_name = $3
    help_text = substr($0, length("# HELP ") + length($3) + 2)
    gsub(/"/, "\\\"", help_text)
    next
}
/^# TYPE / {
    name = $3; type = $4; family = name
    if (type == "counter" && name ~ /_total$/) family = substr(name, 1, length(name) - 6)
    if (type == "untyped") type = "unknown"
    if (help_name == name) print "# HELP " family " " help_text
    print "# TYPE " family " " type
    help_name = ""
    next
}
/^#/ || /^$/ { next }
{
    if (type == "counter") {
        split_at = match($0, /[{ ]/)
        sample_name = substr($0, 1, split_at - 1)
        if (sample_name !~ /_total$/) $0 = sample_name "_total" substr($0, split_at)
    }
    print
}
END { print "# EOF" }
