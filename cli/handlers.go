package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/redact"
	"github.com/onexhost/onex/validate"
)

func init() { addCommand(newHandlersCmd) }

// handlerRow is one handler in the listing.
type handlerRow struct {
	Name        string                `json:"handler_name"`
	Version     string                `json:"handler_version,omitempty"`
	Type        handler.HandlerType   `json:"handler_type,omitempty"`
	Category    handler.Category      `json:"handler_type_category,omitempty"`
	IsAdapter   bool                  `json:"is_adapter"`
	SourceType  handler.SourceType    `json:"source_type,omitempty"`
	Origin      string                `json:"origin,omitempty"`
	ImportPath  string                `json:"import_path,omitempty"`
	Commands    []handler.Command     `json:"commands_accepted"`
	Security    *handler.Security     `json:"security,omitempty"`
	Config      json.RawMessage       `json:"config,omitempty"`
	Status      string                `json:"status"`
	Diagnostics []diag.JSONDiagnostic `json:"diagnostics,omitempty"`
	ruleIDs     []string
}

// Statuses of the listing.
const (
	statusValid   = "valid"
	statusInvalid = "invalid"
)

func newHandlersCmd(env *Env) *cobra.Command {
	var flags hostFlags
	var format string
	cmd := &cobra.Command{
		Use:   "handlers [--config onex.yaml] [--mode M] [--contracts DIR]... [--format table|json]",
		Short: "List the resolved handlers: source, origin and status",
		Long: `Handlers resolves the handlers of a mode the way the host does (discovery and
every registration check, without initialising anything) and lists them: name,
version, category, source, origin, operations and status — valid, or invalid
with the rule ids that block it. Secret values are never shown: secret
references are listed as references, and credentials inside URL-like config
values (DSNs) and values of password/token/secret keys are redacted.

Exit status: 0 when the listing was produced, 1 when the configuration itself is
invalid, 2 on usage errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return UsageErrorf("--format: unknown format %q (valid: table, json)", format)
			}
			setup, report, err := loadSetup(&flags)
			if err != nil {
				return err
			}
			if report.Blocking() {
				printReport(env.Stderr, report)
				return Exit(ExitFailure)
			}
			src, verr := setup.handlerSource(env)
			if verr != nil {
				report.Add(verr)
				printReport(env.Stderr, report)
				return Exit(ExitFailure)
			}
			descs, errs, err := src.Discover(cmd.Context())
			if err != nil {
				return fmt.Errorf("discovery: %w", err)
			}
			all := &diag.Report{}
			all.Add(errs...)
			all.Merge(validate.Set(descs, setup.validators...))
			rows := listRows(descs, all)
			if format == "json" {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Mode     handler.SourceType `json:"handler_source_mode"`
					Handlers []handlerRow       `json:"handlers"`
					Summary  diag.Summary       `json:"summary"`
				}{src.SourceType(), rows, all.Summary()})
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tCATEGORY\tSOURCE\tORIGIN\tOPERATIONS\tSTATUS")
			for _, r := range rows {
				status := r.Status
				if len(r.ruleIDs) > 0 {
					status += " (" + strings.Join(r.ruleIDs, ", ") + ")"
				}
				ops := make([]string, len(r.Commands))
				for i, c := range r.Commands {
					ops[i] = string(c)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, dash(r.Version), dash(string(r.Category)),
					dash(string(r.SourceType)), dash(r.Origin), dash(strings.Join(ops, ",")), status)
			}
			return tw.Flush()
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// listRows makes one row per resolved descriptor, and one per handler identity
// that only appears in diagnostics (a contract the source rejected).
func listRows(descs []*handler.Descriptor, r *diag.Report) []handlerRow {
	byName := map[string]*handlerRow{}
	var rows []*handlerRow
	for _, d := range descs {
		sec := d.Security
		row := &handlerRow{
			Name: d.Name, Version: d.Version, Type: d.Type, Category: d.Category, IsAdapter: d.IsAdapter,
			SourceType: d.SourceType, Origin: d.Origin, ImportPath: d.ImportPath, Commands: d.Commands,
			Security: &sec, Config: redactConfig(d.Config), Status: statusValid,
		}
		byName[d.Name] = row
		rows = append(rows, row)
	}
	for _, e := range r.Diagnostics {
		if !e.Blocking() {
			continue
		}
		name := e.HandlerIdentity
		row, ok := byName[name]
		if !ok {
			if name == "" {
				continue
			}
			row = &handlerRow{Name: name, SourceType: e.SourceType, Origin: e.FilePath, Commands: []handler.Command{}}
			byName[name] = row
			rows = append(rows, row)
		}
		row.Status = statusInvalid
		row.Diagnostics = append(row.Diagnostics, diag.ToJSON(e))
		if !contains(row.ruleIDs, string(e.RuleID)) {
			row.ruleIDs = append(row.ruleIDs, string(e.RuleID))
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	out := make([]handlerRow, len(rows))
	for i, r := range rows {
		out[i] = *r
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// redactConfig returns config with credentials removed (see redact.Config):
// secret references are shown, values of sensitive keys and DSN passwords are
// not.
func redactConfig(raw json.RawMessage) json.RawMessage { return redact.Config(raw) }
