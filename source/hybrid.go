package source

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"sync"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
)

// Hybrid resolves handlers per identity: a contract wins over the bootstrap
// descriptor of the same handler_name, and a bootstrap descriptor is used only
// where no contract declares that name. It never fails over as a whole.
//
// A broken contract is not a missing one: when any error carries a handler
// identity, the bootstrap descriptor of that name is not used (nor are its own
// errors reported), so a typo in a contract can never silently bring back the
// built-in handler.
type Hybrid struct {
	contract  HandlerSource
	bootstrap HandlerSource
	logger    *slog.Logger

	mu    sync.Mutex
	stats Stats
}

var (
	_ HandlerSource = (*Hybrid)(nil)
	_ StatsReporter = (*Hybrid)(nil)
)

// NewHybrid combines a contract source and a bootstrap source.
func NewHybrid(contract, bootstrap HandlerSource, logger *slog.Logger) *Hybrid {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Hybrid{contract: contract, bootstrap: bootstrap, logger: logger}
}

// SourceType is hybrid.
func (h *Hybrid) SourceType() handler.SourceType { return handler.SourceHybrid }

// Discover runs both sources and resolves each identity.
func (h *Hybrid) Discover(ctx context.Context) ([]*handler.Descriptor, []*diag.ValidationError, error) {
	cdescs, cerrs, err := h.contract.Discover(ctx)
	if err != nil {
		return nil, nil, err
	}
	// A contract directory with nothing in it yet is a hybrid host whose
	// handlers all still come from the bootstrap table, not a mistake.
	cerrs = slices.DeleteFunc(slices.Clone(cerrs), func(e *diag.ValidationError) bool { return e.RuleID == ruleid.ContractNoneFound })
	bdescs, berrs, err := h.bootstrap.Discover(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Identities a contract declares, cleanly or not.
	claimed := make(map[string]bool, len(cdescs)+len(cerrs))
	for _, d := range cdescs {
		claimed[d.Name] = true
	}
	for _, e := range cerrs {
		if e.HandlerIdentity != "" {
			claimed[e.HandlerIdentity] = true
		}
	}
	descs := append([]*handler.Descriptor(nil), cdescs...)
	errs := append([]*diag.ValidationError(nil), cerrs...)
	fallback := 0
	for _, d := range bdescs {
		if claimed[d.Name] {
			continue
		}
		descs = append(descs, d)
		fallback++
	}
	for _, e := range berrs {
		if !claimed[e.HandlerIdentity] {
			errs = append(errs, e)
		}
	}
	sort.SliceStable(descs, func(i, j int) bool { return descs[i].Name < descs[j].Name })

	bootstrapCount := len(bdescs) + countIdentities(berrs)
	if sr, ok := h.bootstrap.(StatsReporter); ok {
		if n, ok := sr.Stats()["bootstrap_handler_count"].(int); ok {
			bootstrapCount = n
		}
	}
	stats := Stats{
		"contract_handler_count":  len(cdescs),
		"bootstrap_handler_count": bootstrapCount,
		"fallback_handler_count":  fallback,
	}
	h.mu.Lock()
	h.stats = stats
	h.mu.Unlock()
	h.logger.LogAttrs(ctx, slog.LevelInfo, "hybrid handlers resolved",
		slog.Int("contract_handler_count", len(cdescs)),
		slog.Int("bootstrap_handler_count", bootstrapCount),
		slog.Int("fallback_handler_count", fallback))
	return descs, errs, nil
}

// Stats reports contract_handler_count (clean contract descriptors),
// bootstrap_handler_count (the size of the bootstrap table) and
// fallback_handler_count (bootstrap descriptors actually used) of the last
// Discover.
func (h *Hybrid) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return cloneStats(h.stats)
}

func countIdentities(errs []*diag.ValidationError) int {
	ids := map[string]bool{}
	for _, e := range errs {
		ids[e.HandlerIdentity] = true
	}
	return len(ids)
}
