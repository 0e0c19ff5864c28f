// The Service manifest from /work/shared/reference/services-seed.md, byte for byte
// (comments and trailing spaces included); shared by every suite that needs it.
export const SEED_MANIFEST = `apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  type: ClusterIP         # Default service type 
  selector:
    app: nginx
  ports:
    - name: http
      protocol: TCP
      port: 8080
      targetPort: 80
    - name: https        # We can configure multiple port definitions if we need
      protocol: TCP
      port: 8443
      targetPort: 443
`;
