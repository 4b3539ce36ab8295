package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/podsem/podsem/framework/catalogue"
)

// listCmd prints the catalogue; it needs no cluster.
func listCmd(args []string, stdout io.Writer) error {
	fs := newFlagSet("list")
	asJSON := fs.Bool("json", false, "one JSON array of {ID, Area, Level, Semantic}")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(catalogue.Entries)
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tLEVEL\tAREA\tSEMANTIC")
	for _, e := range catalogue.Entries {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.ID, e.Level, e.Area, e.Semantic)
	}
	return w.Flush()
}
