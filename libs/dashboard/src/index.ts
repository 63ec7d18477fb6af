export { DashboardModule } from './dashboard.module';
export type { DashboardSummary, RecentRejected } from './dashboard-summary';
