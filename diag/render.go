package diag

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/onexhost/onex/handler"
)

// Format is an output format of the renderers.
type Format string

// Output formats.
const (
	FormatText   Format = "text"
	FormatJSON   Format = "json"
	FormatSARIF  Format = "sarif"
	FormatGitHub Format = "github"
)

// Formats lists every format.
var Formats = []Format{FormatText, FormatJSON, FormatSARIF, FormatGitHub}

// ParseFormat parses a --format value.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", &handler.VocabularyError{Kind: "format", Value: s, Valid: []string{"text", "json", "sarif", "github"}}
}

// Tool describes the producer, for SARIF.
type Tool struct {
	Name           string
	Version        string
	InformationURI string
}

// DefaultTool is onex itself.
var DefaultTool = Tool{Name: "onex", Version: "dev", InformationURI: "https://github.com/onexhost/onex"}

// Render writes r in format f. The report is sorted first.
func Render(w io.Writer, r *Report, f Format, tool Tool) error {
	r.Sort()
	switch f {
	case FormatText:
		return RenderText(w, r)
	case FormatJSON:
		return RenderJSON(w, r)
	case FormatSARIF:
		return RenderSARIF(w, r, tool)
	case FormatGitHub:
		return RenderGitHub(w, r)
	}
	return fmt.Errorf("unknown format %q", f)
}

// RenderText writes the human form: diagnostics grouped by file, each with
// file:line:col, its remediation, and a one-line summary.
func RenderText(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	group := "\x00"
	for _, d := range r.Diagnostics {
		if d.FilePath != group {
			if group != "\x00" {
				bw.WriteString("\n")
			}
			group = d.FilePath
			if group == "" {
				bw.WriteString("(no file)\n")
			} else {
				bw.WriteString(group + "\n")
			}
		}
		bw.WriteString("  ")
		if loc := d.Location(); loc != "" {
			bw.WriteString(loc + ": ")
		}
		fmt.Fprintf(bw, "%s [%s] ", d.Severity, d.RuleID)
		if d.HandlerIdentity != "" {
			bw.WriteString(d.HandlerIdentity + ": ")
		}
		bw.WriteString(d.Message + "\n")
		for c := d.CausedBy; c != nil; c = c.CausedBy {
			fmt.Fprintf(bw, "      caused by [%s] %s\n", c.RuleID, c.Message)
		}
		if d.RemediationHint != "" {
			bw.WriteString("      remediation: " + d.RemediationHint + "\n")
		}
	}
	if len(r.Diagnostics) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString(r.Summary().String() + "\n")
	return bw.Flush()
}

// JSONDiagnostic is one diagnostic of the JSON form; absent optional values are
// omitted.
type JSONDiagnostic struct {
	RuleID          RuleID             `json:"rule_id"`
	ErrorType       handler.ErrorType  `json:"error_type"`
	Severity        handler.Severity   `json:"severity"`
	HandlerIdentity string             `json:"handler_identity,omitempty"`
	SourceType      handler.SourceType `json:"source_type,omitempty"`
	Message         string             `json:"message"`
	RemediationHint string             `json:"remediation_hint"`
	FilePath        string             `json:"file_path,omitempty"`
	Line            int                `json:"line,omitempty"`
	Column          int                `json:"column,omitempty"`
	Details         map[string]any     `json:"details,omitempty"`
	CausedBy        *JSONDiagnostic    `json:"caused_by,omitempty"`
}

// JSONReport is the JSON form of a report, shared by onex validate and onex vet.
type JSONReport struct {
	Diagnostics []JSONDiagnostic `json:"diagnostics"`
	Summary     Summary          `json:"summary"`
}

// ToJSON converts a diagnostic to its JSON form.
func ToJSON(d *ValidationError) JSONDiagnostic {
	j := JSONDiagnostic{
		RuleID: d.RuleID, ErrorType: d.ErrorType, Severity: d.Severity,
		HandlerIdentity: d.HandlerIdentity, SourceType: d.SourceType,
		Message: d.Message, RemediationHint: d.RemediationHint,
		FilePath: d.FilePath, Line: d.Line, Column: d.Column, Details: d.Details,
	}
	if d.CausedBy != nil {
		c := ToJSON(d.CausedBy)
		j.CausedBy = &c
	}
	return j
}

// RenderJSON writes the JSON form.
func RenderJSON(w io.Writer, r *Report) error {
	out := JSONReport{Diagnostics: make([]JSONDiagnostic, 0, len(r.Diagnostics)), Summary: r.Summary()}
	for _, d := range r.Diagnostics {
		out.Diagnostics = append(out.Diagnostics, ToJSON(d))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// RenderGitHub writes GitHub Actions workflow commands, one per diagnostic:
// ::error file=…,line=…,col=…::[RULE] message. Remediation: hint
func RenderGitHub(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	for _, d := range r.Diagnostics {
		level := "error"
		switch d.Severity {
		case handler.SeverityWarning:
			level = "warning"
		case handler.SeverityInfo:
			level = "notice"
		}
		var props []string
		if d.FilePath != "" {
			props = append(props, "file="+ghProperty(d.FilePath))
			if d.Line > 0 {
				props = append(props, "line="+strconv.Itoa(d.Line))
			}
			if d.Column > 0 {
				props = append(props, "col="+strconv.Itoa(d.Column))
			}
		}
		props = append(props, "title="+ghProperty(string(d.RuleID)))
		msg := "[" + string(d.RuleID) + "] "
		if d.HandlerIdentity != "" {
			msg += d.HandlerIdentity + ": "
		}
		msg += strings.TrimSuffix(d.Message, ".") + ". Remediation: " + d.RemediationHint
		fmt.Fprintf(bw, "::%s %s::%s\n", level, strings.Join(props, ","), ghData(msg))
	}
	return bw.Flush()
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// SARIF 2.1.0 — only the parts onex produces.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri,omitempty"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string            `json:"id"`
		ShortDescription     sarifMessage      `json:"shortDescription"`
		Help                 sarifMessage      `json:"help"`
		DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
		Properties           map[string]string `json:"properties,omitempty"`
	}
	sarifRuleConfig struct {
		Level string `json:"level"`
	}
	sarifMessage struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID     string          `json:"ruleId"`
		RuleIndex  int             `json:"ruleIndex"`
		Level      string          `json:"level"`
		Message    sarifMessage    `json:"message"`
		Locations  []sarifLocation `json:"locations,omitempty"`
		Properties map[string]any  `json:"properties,omitempty"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
)

func sarifLevel(s handler.Severity) string {
	switch s {
	case handler.SeverityWarning:
		return "warning"
	case handler.SeverityInfo:
		return "note"
	}
	return "error"
}

// RenderSARIF writes a SARIF 2.1.0 log with one run; the driver lists the rules
// the results refer to.
func RenderSARIF(w io.Writer, r *Report, tool Tool) error {
	driver := sarifDriver{Name: tool.Name, Version: tool.Version, InformationURI: tool.InformationURI, Rules: []sarifRule{}}
	index := map[RuleID]int{}
	results := make([]sarifResult, 0, len(r.Diagnostics))
	for _, d := range r.Diagnostics {
		i, ok := index[d.RuleID]
		if !ok {
			i = len(driver.Rules)
			index[d.RuleID] = i
			rule := sarifRule{ID: string(d.RuleID), DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(d.Severity)}}
			if c, ok := Lookup(d.RuleID); ok {
				rule.ShortDescription.Text = c.Title
				rule.Help.Text = c.Remediation
				rule.DefaultConfiguration.Level = sarifLevel(c.Severity)
				rule.Properties = map[string]string{"error_type": string(c.ErrorType)}
			} else {
				rule.ShortDescription.Text = string(d.RuleID)
				rule.Help.Text = d.RemediationHint
			}
			driver.Rules = append(driver.Rules, rule)
		}
		res := sarifResult{
			RuleID: string(d.RuleID), RuleIndex: i, Level: sarifLevel(d.Severity),
			Message: sarifMessage{Text: d.Message},
			Properties: map[string]any{
				"error_type":       d.ErrorType,
				"remediation_hint": d.RemediationHint,
			},
		}
		if d.HandlerIdentity != "" {
			res.Properties["handler_identity"] = d.HandlerIdentity
		}
		if d.SourceType != "" {
			res.Properties["source_type"] = d.SourceType
		}
		if len(d.Details) > 0 {
			res.Properties["details"] = d.Details
		}
		if d.FilePath != "" {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(d.FilePath)}}}
			if d.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: d.Line, StartColumn: d.Column}
			}
			res.Locations = []sarifLocation{loc}
		}
		results = append(results, res)
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// fileURI turns a path into a SARIF artifact URI: relative paths stay relative
// references, absolute ones become file:// URIs; URLs are kept.
func fileURI(p string) string {
	if u, err := url.Parse(p); err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "file") {
		return p
	}
	slashed := filepath.ToSlash(p)
	if filepath.IsAbs(p) {
		return (&url.URL{Scheme: "file", Path: slashed}).String()
	}
	return (&url.URL{Path: slashed}).String()
}
