package guest

// ControlSocket is where PID 1 serves keel-ctl's API (HTTP over a unix socket; see
// docs/keel-ctl.md). A package that asks PID 1 for something (acpid's poweroff) binds
// ControlDir and POSTs to it; changes need CAP_SYS_BOOT or PID 1's namespaces.
const (
	ControlDir    = "/system/keel"
	ControlSocket = ControlDir + "/control.sock"
)
