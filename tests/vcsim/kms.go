// The CryptoManagerKmip managed object vcsim 0.24 lacks: key providers (KMS clusters), their KMIP
// servers with a connection status, the client and server certificates, the default provider,
// and the key provider of VMs and hosts. Loaded from a JSON spec (-kms FILE) written by
// tests/vcsim/vcsim_scenarios.py; certificates are real X.509 certificates made here at start,
// with the not-after dates the spec asks for.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" // vCenter shows SHA-1 fingerprints of KMS certificates
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// kmsSpec is the JSON the scenario builder writes.
type kmsSpec struct {
	Fault     string             `json:"fault"`             // "NotSupported": every crypto manager method faults
	Hang      bool               `json:"status_task_hangs"` // the status task stays queued
	Providers []kmsProviderSpec  `json:"providers"`
	VMs       []kmsProtectedSpec `json:"vms"`
	Hosts     []kmsProtectedSpec `json:"hosts"`
}

type kmsProviderSpec struct {
	ID             string          `json:"id"`
	Default        bool            `json:"default"`
	ClientCertDays float64         `json:"client_cert_days"` // not-after, days from now
	Servers        []kmsServerSpec `json:"servers"`
}

type kmsServerSpec struct {
	Name              string  `json:"name"`
	Address           string  `json:"address"`
	Port              int32   `json:"port"`
	Status            string  `json:"status"`     // ManagedEntityStatus: green yellow red gray
	Connection        string  `json:"connection"` // connectionStatus text
	CertDays          float64 `json:"cert_days"`
	ClientTrustServer bool    `json:"client_trust_server"`
	ServerTrustClient bool    `json:"server_trust_client"`
}

// kmsProtectedSpec encrypts the index-th VM (or host), sorted by name, with a key of Provider.
type kmsProtectedSpec struct {
	Index    int    `json:"index"`
	Provider string `json:"provider"`
}

type issuedCert struct {
	pem  string
	info types.CryptoManagerKmipCertificateInfo
}

type kmipServerState struct {
	spec kmsServerSpec
	cert issuedCert
}

type kmsProviderState struct {
	client  issuedCert
	servers map[string]*kmipServerState
}

// CryptoManagerKmip answers the vSphere API's crypto manager methods from the spec.
type CryptoManagerKmip struct {
	mo.CryptoManagerKmip

	fault     string
	hang      bool
	providers map[string]*kmsProviderState
}

func (m *CryptoManagerKmip) faulted() *soap.Fault {
	if m.fault == "" {
		return nil
	}
	return simulator.Fault("crypto manager: "+m.fault, &types.NotSupported{})
}

// ListKmipServers returns the key providers and their servers (limit: at most that many).
func (m *CryptoManagerKmip) ListKmipServers(req *types.ListKmipServers) soap.HasFault {
	body := &methods.ListKmipServersBody{}
	if body.Fault_ = m.faulted(); body.Fault_ != nil {
		return body
	}
	clusters := m.KmipServers
	if req.Limit != nil && int(*req.Limit) >= 0 && int(*req.Limit) < len(clusters) {
		clusters = clusters[:*req.Limit]
	}
	body.Res = &types.ListKmipServersResponse{Returnval: clusters}
	return body
}

// GetDefaultKmsCluster returns the provider marked useAsDefault (a fault when none is).
func (m *CryptoManagerKmip) GetDefaultKmsCluster(req *types.GetDefaultKmsCluster) soap.HasFault {
	body := &methods.GetDefaultKmsClusterBody{}
	if body.Fault_ = m.faulted(); body.Fault_ != nil {
		return body
	}
	for _, cluster := range m.KmipServers {
		if cluster.UseAsDefault {
			id := cluster.ClusterId
			body.Res = &types.GetDefaultKmsClusterResponse{Returnval: &id}
			return body
		}
	}
	body.Fault_ = simulator.Fault("no default key provider", &types.RuntimeFault{})
	return body
}

func (m *CryptoManagerKmip) clusterStatus(cluster types.KmipClusterInfo) types.CryptoManagerKmipClusterStatus {
	state := m.providers[cluster.ClusterId.Id]
	client := state.client.info
	status := types.CryptoManagerKmipClusterStatus{ClusterId: cluster.ClusterId, ClientCertInfo: &client}
	for _, server := range cluster.Servers {
		s := state.servers[server.Name]
		cert := s.cert.info
		status.Servers = append(status.Servers, types.CryptoManagerKmipServerStatus{
			Name:              server.Name,
			Status:            types.ManagedEntityStatus(s.spec.Status),
			ConnectionStatus:  s.spec.Connection,
			CertInfo:          &cert,
			ClientTrustServer: types.NewBool(s.spec.ClientTrustServer),
			ServerTrustClient: types.NewBool(s.spec.ServerTrustClient),
		})
	}
	return status
}

// RetrieveKmipServersStatusTask reports each provider's servers, their connection status and
// certificates (all providers when req.Clusters is empty).
func (m *CryptoManagerKmip) RetrieveKmipServersStatusTask(req *types.RetrieveKmipServersStatus_Task) soap.HasFault {
	body := &methods.RetrieveKmipServersStatus_TaskBody{}
	if body.Fault_ = m.faulted(); body.Fault_ != nil {
		return body
	}
	wanted := map[string]bool{}
	for _, cluster := range req.Clusters {
		wanted[cluster.ClusterId.Id] = true
	}
	// TaskInfo.entity must be a ManagedEntity (pyVmomi checks): the root folder, not the manager.
	root := simulator.Map.Get(simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance).Content.RootFolder)
	task := simulator.CreateTask(root, "retrieveKmipServersStatus", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		var result []types.CryptoManagerKmipClusterStatus
		for _, cluster := range m.KmipServers {
			if len(wanted) == 0 || wanted[cluster.ClusterId.Id] {
				result = append(result, m.clusterStatus(cluster))
			}
		}
		return types.ArrayOfCryptoManagerKmipClusterStatus{CryptoManagerKmipClusterStatus: result}, nil
	})
	if m.hang { // a KMS that never answers: the task is created but never runs
		body.Res = &types.RetrieveKmipServersStatus_TaskResponse{Returnval: task.Self}
		return body
	}
	body.Res = &types.RetrieveKmipServersStatus_TaskResponse{Returnval: task.Run()}
	return body
}

// RetrieveClientCert returns vCenter's client certificate (PEM) for a provider.
func (m *CryptoManagerKmip) RetrieveClientCert(req *types.RetrieveClientCert) soap.HasFault {
	body := &methods.RetrieveClientCertBody{}
	if body.Fault_ = m.faulted(); body.Fault_ != nil {
		return body
	}
	state, ok := m.providers[req.Cluster.Id]
	if !ok {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "cluster"})
		return body
	}
	body.Res = &types.RetrieveClientCertResponse{Returnval: state.client.pem}
	return body
}

// RetrieveKmipServerCert returns a KMIP server's certificate and whether vCenter trusts it.
func (m *CryptoManagerKmip) RetrieveKmipServerCert(req *types.RetrieveKmipServerCert) soap.HasFault {
	body := &methods.RetrieveKmipServerCertBody{}
	if body.Fault_ = m.faulted(); body.Fault_ != nil {
		return body
	}
	state, ok := m.providers[req.KeyProvider.Id]
	if !ok {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "keyProvider"})
		return body
	}
	server, ok := state.servers[req.Server.Name]
	if !ok {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "server"})
		return body
	}
	info := server.cert.info
	body.Res = &types.RetrieveKmipServerCertResponse{Returnval: types.CryptoManagerKmipServerCertInfo{
		Certificate:       server.cert.pem,
		CertInfo:          &info,
		ClientTrustServer: types.NewBool(server.spec.ClientTrustServer),
	}}
	return body
}

// issue makes a certificate signed by ca (self-signed when ca is nil) valid until now+days.
func issue(subject string, days float64, ca *x509.Certificate, caKey *ecdsa.PrivateKey, isCA bool) (issuedCert, *x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return issuedCert{}, nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return issuedCert{}, nil, nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	notAfter := now.Add(time.Duration(days * float64(24*time.Hour)))
	notBefore := now.Add(-365 * 24 * time.Hour)
	if notAfter.Before(notBefore) {
		notBefore = notAfter.Add(-24 * time.Hour)
	}
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: subject, Organization: []string{"holdtime vcsim"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	parent, signer := template, key
	if ca != nil {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, &key.PublicKey, signer)
	if err != nil {
		return issuedCert{}, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return issuedCert{}, nil, nil, err
	}
	sum := sha1.Sum(der)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02X", b)
	}
	info := types.CryptoManagerKmipCertificateInfo{
		Subject:      cert.Subject.String(),
		Issuer:       cert.Issuer.String(),
		SerialNumber: cert.SerialNumber.String(),
		NotBefore:    cert.NotBefore,
		NotAfter:     cert.NotAfter,
		Fingerprint:  strings.Join(hexes, ":"),
		CheckTime:    now,
	}
	if since := now.Sub(cert.NotBefore).Seconds(); since > 0 {
		info.SecondsSinceValid = int32(since)
	}
	if before := cert.NotAfter.Sub(now).Seconds(); before > 0 {
		info.SecondsBeforeExpire = int32(before)
	}
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return issuedCert{pem: string(block), info: info}, cert, key, nil
}

// installKms reads the spec, issues the certificates, registers the crypto manager in the
// ServiceContent and sets the key ids of the VMs and hosts it names.
func installKms(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spec kmsSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	_, ca, caKey, err := issue("holdtime vcsim KMS CA", 3650, nil, nil, true)
	if err != nil {
		return err
	}
	manager := &CryptoManagerKmip{fault: spec.Fault, hang: spec.Hang, providers: map[string]*kmsProviderState{}}
	manager.Self = types.ManagedObjectReference{Type: "CryptoManagerKmip", Value: "CryptoManager"}
	manager.Enabled = true
	for _, provider := range spec.Providers {
		client, _, _, err := issue("vCenter KMS client "+provider.ID, provider.ClientCertDays, ca, caKey, false)
		if err != nil {
			return err
		}
		state := &kmsProviderState{client: client, servers: map[string]*kmipServerState{}}
		cluster := types.KmipClusterInfo{ClusterId: types.KeyProviderId{Id: provider.ID}, UseAsDefault: provider.Default}
		for _, server := range provider.Servers {
			cert, _, _, err := issue(server.Address, server.CertDays, ca, caKey, false)
			if err != nil {
				return err
			}
			state.servers[server.Name] = &kmipServerState{spec: server, cert: cert}
			cluster.Servers = append(cluster.Servers, types.KmipServerInfo{
				Name: server.Name, Address: server.Address, Port: server.Port,
			})
		}
		manager.providers[provider.ID] = state
		manager.KmipServers = append(manager.KmipServers, cluster)
	}
	simulator.Map.Put(manager)
	instance := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	ref := manager.Self
	instance.Content.CryptoManager = &ref

	vms := sortedEntities("VirtualMachine")
	for _, protected := range spec.VMs {
		if protected.Index >= len(vms) {
			return fmt.Errorf("%s: vm index %d: only %d VMs", path, protected.Index, len(vms))
		}
		vm := vms[protected.Index].(*simulator.VirtualMachine)
		vm.Config.KeyId = keyID(protected.Provider, vm.Name)
	}
	hosts := sortedEntities("HostSystem")
	for _, protected := range spec.Hosts {
		if protected.Index >= len(hosts) {
			return fmt.Errorf("%s: host index %d: only %d hosts", path, protected.Index, len(hosts))
		}
		host := hosts[protected.Index].(*simulator.HostSystem)
		host.Runtime.CryptoState = "safe"
		host.Runtime.CryptoKeyId = keyID(protected.Provider, host.Name)
	}
	return nil
}

func keyID(provider, owner string) *types.CryptoKeyId {
	return &types.CryptoKeyId{KeyId: "key-" + owner, ProviderId: &types.KeyProviderId{Id: provider}}
}

func sortedEntities(kind string) []mo.Entity {
	entities := simulator.Map.All(kind)
	sort.Slice(entities, func(i, j int) bool { return entities[i].Entity().Name < entities[j].Entity().Name })
	return entities
}
