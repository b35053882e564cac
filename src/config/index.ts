export {
  type GatewayConfig,
  type GatewayConfigInput,
  gatewayConfigSchema,
  type NumberConfig,
  type PoolConfig,
  poolSchema,
} from './gateway-config.ts';
export { type ConfigOverrides, hashApiKey, loadGatewayConfig } from './load-config.ts';
export {
  formatYamlIssues,
  type LocatableIssue,
  locateYamlPath,
  type YamlLocation,
} from './yaml-locations.ts';
