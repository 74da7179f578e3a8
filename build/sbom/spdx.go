package sbom

// The SPDX 2.3 JSON document: only the fields Keel fills in. Field names and values follow
// the SPDX 2.3 specification's JSON serialisation.

const (
	spdxVersion = "SPDX-2.3"
	dataLicense = "CC0-1.0"
	documentID  = "SPDXRef-DOCUMENT"
	noAssertion = "NOASSERTION"
)

// Relationship types used.
const (
	relDescribes = "DESCRIBES"
	relContains  = "CONTAINS"
)

type document struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      creationInfo   `json:"creationInfo"`
	Packages          []spdxPackage  `json:"packages"`
	Files             []file         `json:"files,omitempty"`
	Relationships     []relationship `json:"relationships"`
}

type creationInfo struct {
	Created  string   `json:"created"` // YYYY-MM-DDThh:mm:ssZ
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	SPDXID                string        `json:"SPDXID"`
	Name                  string        `json:"name"`
	VersionInfo           string        `json:"versionInfo,omitempty"`
	DownloadLocation      string        `json:"downloadLocation"`
	FilesAnalyzed         bool          `json:"filesAnalyzed"`
	Checksums             []checksum    `json:"checksums,omitempty"`
	PrimaryPackagePurpose string        `json:"primaryPackagePurpose,omitempty"`
	ExternalRefs          []externalRef `json:"externalRefs,omitempty"`
	Comment               string        `json:"comment,omitempty"`
}

type file struct {
	SPDXID    string     `json:"SPDXID"`
	FileName  string     `json:"fileName"`
	FileTypes []string   `json:"fileTypes,omitempty"`
	Checksums []checksum `json:"checksums"` // SHA1 is required
	Comment   string     `json:"comment,omitempty"`
}

type checksum struct {
	Algorithm string `json:"algorithm"` // SHA1, SHA256, ...
	Value     string `json:"checksumValue"`
}

type externalRef struct {
	Category string `json:"referenceCategory"` // PACKAGE-MANAGER
	Type     string `json:"referenceType"`     // purl
	Locator  string `json:"referenceLocator"`
}

type relationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}
